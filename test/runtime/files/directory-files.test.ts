import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDirectoryFiles } from '../../../runtime/files/directory-files.ts';
import { jobFilesContract } from './job-files-contract.ts';

const root = mkdtempSync(join(tmpdir(), 'stator-directory-files-'));
let n = 0;

const contract = suite('directory files (embedded mode): contract');
contract.after(() => rmSync(root, { recursive: true, force: true }));
jobFilesContract(contract, (maxBytes) => openDirectoryFiles({ dir: join(root, `area-${++n}`, 'files'), maxBytes }));
contract.run();

const own = suite('directory files (embedded mode)');

own(
  'files are plain private files under the folder; a crashed write leaves no partial file and its temp file is removed on open',
  async () => {
    const dir = join(root, 'plain', 'files');
    {
      await using files = await openDirectoryFiles({ dir });
      await files.put('tables/zip.json', 'x');
      assert.is(readFileSync(join(dir, 'tables', 'zip.json'), 'utf8'), 'x');
      assert.is(statSync(join(dir, 'tables', 'zip.json')).mode & 0o777, 0o600);
      assert.is(statSync(dir).mode & 0o777, 0o700);
      assert.is(await files.path('tables/zip.json'), join(dir, 'tables', 'zip.json'));
    }
    // What a crash mid-put leaves: a temp file in files.tmp, the old version in place.
    writeFileSync(join(`${dir}.tmp`, 'deadbeef'), 'half a file');
    await using files = await openDirectoryFiles({ dir });
    assert.equal(readdirSync(`${dir}.tmp`), []);
    assert.equal(
      (await files.list()).map((e) => e.name),
      ['tables/zip.json'],
    );
  },
);

own('a file cannot also be a folder; a deleted file takes its empty folders with it', async () => {
  await using files = await openDirectoryFiles({ dir: join(root, 'folders', 'files') });
  await files.put('a', 'x');
  try {
    await files.put('a/b', 'y');
    assert.unreachable();
  } catch (error) {
    assert.is((error as { code?: string }).code, 'FILE_NAME_INVALID');
    assert.match((error as Error).message, /'a' is a file/);
  }
  await files.put('c/d/e', 'z');
  try {
    await files.put('c/d', 'y');
    assert.unreachable();
  } catch (error) {
    assert.match((error as Error).message, /is a folder/);
  }
  await files.delete('c/d/e');
  assert.equal(readdirSync(join(root, 'folders', 'files')), ['a']);
});

own(
  'a file changed behind the area gets a fresh digest (versions are told apart by inode, size and time)',
  async () => {
    const dir = join(root, 'outside', 'files');
    await using files = await openDirectoryFiles({ dir });
    const first = await files.put('t.txt', 'one');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 't.txt'), 'two, longer');
    const second = await files.stat('t.txt');
    assert.is.not(second?.digest, first.digest);
    assert.is(second?.size, 11);
  },
);

own('a folder that cannot be created is a ConfigError naming it', async () => {
  const blocker = join(root, 'blocker');
  writeFileSync(blocker, 'a file');
  try {
    await openDirectoryFiles({ dir: join(blocker, 'files') });
    assert.unreachable();
  } catch (error) {
    assert.is((error as { code?: string }).code, 'CONFIG_ERROR');
    assert.match((error as Error).message, /cannot create the file area .*blocker/);
  }
});

own.run();
