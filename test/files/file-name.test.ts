import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkFileName, FileNameError } from '../../src/files/index.ts';

test('file names - relative paths with / between segments are accepted as they are', () => {
  for (const name of ['a', 'lookup.json', 'models/en/model.bin', '.hidden', 'a..b', '...', 'x y/ü.txt', 'a/.b']) {
    assert.is(checkFileName(name), name);
  }
});

test('file names - escapes and malformed names are refused with FileNameError saying why', () => {
  const refused: [unknown, RegExp][] = [
    ['', /empty/],
    ['..', /'\.\.' segment/],
    ['../x', /'\.\.' segment/],
    ['a/../../etc/passwd', /'\.\.' segment/],
    ['a/..', /'\.\.' segment/],
    ['./a', /'\.' segment/],
    ['/etc/passwd', /absolute/],
    ['a//b', /empty segment/],
    ['a/', /empty segment/],
    ['a\\..\\b', /contains '\\'/],
    ['C:/x', /drive letter/],
    ['c:x', /drive letter/],
    ['a\u0000b', /NUL/],
    ['a\nb', /control/],
    ['\ud800', /surrogate/],
    ['x'.repeat(256), /segment is longer than 255/],
    [`${'a/'.repeat(600)}a`, /longer than 1024/],
    [undefined, /not a string/],
    [null, /null, not a string/],
    [42, /number/],
  ];
  for (const [name, reason] of refused) {
    try {
      checkFileName(name);
      assert.unreachable(`accepted ${JSON.stringify(name)}`);
    } catch (error) {
      assert.instance(error, FileNameError, String(name));
      const e = error as FileNameError;
      assert.is(e.code, 'FILE_NAME_INVALID');
      assert.match(e.message, reason, `${JSON.stringify(name)}: ${e.message}`);
      assert.match(e.message, /use a relative path/);
    }
  }
});

test.run();
