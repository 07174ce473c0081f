import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { killAll, runCli, tempDir } from '../support/cli.ts';
import { startNatsServer, type NatsServerHandle } from '../../support/index.ts';

const tmp = tempDir('files-cli');
let server: NatsServerHandle;
test.before(async () => {
  server = await startNatsServer();
});
test.after(async () => {
  killAll();
  await server.stop();
  tmp.remove();
});

/** The same session in each mode: put (file and stdin), list, get, expected-digest, delete. */
async function session(mode: readonly string[], where: RegExp): Promise<void> {
  const files = (args: readonly string[]) => runCli(['files', ...args, '--job', 'cli-job', ...mode]);
  const empty = await files(['list']);
  assert.is(empty.code, 0, empty.stderr);
  assert.match(empty.stdout, /no files for job cli-job/);
  const source = join(tmp.dir, `table-${mode.length}.json`);
  writeFileSync(source, '{"10115":"Berlin"}');
  const put = await files(['put', 'tables/zip.json', '--input', source, '--json']);
  assert.is(put.code, 0, put.stderr);
  const info = JSON.parse(put.stdout) as { name: string; size: number; digest: string };
  assert.is(info.size, 18);
  assert.match(info.digest, /^SHA-256=/);
  const listed = await files(['list', 'tables/']);
  assert.is(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /^\s+18 {2}\d{4}-.*Z {2}tables\/zip\.json\n$/);
  // list --json gives each file's digest: the version --expected-digest names, as the help says.
  const listedJson = await files(['list', '--json']);
  assert.is(listedJson.code, 0, listedJson.stderr);
  const [entry] = JSON.parse(listedJson.stdout) as { name: string; size: number; digest: string }[];
  assert.equal([entry?.name, entry?.size, entry?.digest], ['tables/zip.json', 18, info.digest]);
  const got = await files(['get', 'tables/zip.json']);
  assert.is(got.stdout, '{"10115":"Berlin"}');
  const out = join(tmp.dir, `got-${mode.length}.json`);
  assert.is((await files(['get', 'tables/zip.json', '--output', out])).code, 0);
  assert.is(readFileSync(out, 'utf8'), '{"10115":"Berlin"}');
  // --expected-digest: a stale digest is refused (exit 1, nothing written), the current one replaces.
  const stale = await files(['put', 'tables/zip.json', '--input', source, '--expected-digest', 'none']);
  assert.is(stale.code, 1, stale.stderr);
  assert.match(stale.stderr, /was not written: expected no file/);
  writeFileSync(source, '{}');
  const replaced = await files(['put', 'tables/zip.json', '--input', source, '--expected-digest', info.digest]);
  assert.is(replaced.code, 0, replaced.stderr);
  assert.match(replaced.stdout, where);
  // Escapes are bad arguments (exit 2); a missing file is exit 1.
  const escape = await files(['put', '../outside', '--input', source]);
  assert.is(escape.code, 2, escape.stderr);
  assert.match(escape.stderr, /file name "..\/outside" is not allowed/);
  assert.is((await files(['get', 'missing.txt'])).code, 1);
  assert.is((await files(['delete', 'tables/zip.json'])).code, 0);
  const again = await files(['delete', 'tables/zip.json']);
  assert.is(again.code, 1);
  assert.match(again.stdout, /no file tables\/zip.json/);
  assert.equal(JSON.parse((await files(['list', '--json'])).stdout), []);
}

test('stator files, embedded: list, put, get, --expected-digest, delete under <state-dir>/<job>/files', async () => {
  const stateDir = join(tmp.dir, 'state');
  await session(['--state-dir', stateDir], /in .*state\/cli-job\/files/);
});

test('stator files, NATS mode: the same session on the bucket stator-<job>-files; list creates no bucket', async () => {
  const nc = await connect({ servers: server.url });
  try {
    await session(['--nats', server.url], /in nats:stator-cli_2djob-files/);
    const list = await runCli(['files', 'list', '--job', 'never-ran', '--nats', server.url]);
    assert.is(list.code, 0, list.stderr);
    assert.match(list.stdout, /no files for job never-ran/);
    const jsm = await jetstreamManager(nc);
    const names: string[] = [];
    for await (const name of jsm.streams.names()) names.push(name);
    assert.ok(!names.includes('OBJ_stator-never_2dran-files'), names.join(', '));
    assert.ok(names.includes('OBJ_stator-cli_2djob-files'), names.join(', '));
  } finally {
    await nc.close();
  }
});

test('two processes putting one name with --expected-digest none at the same time: exactly one wins', async () => {
  const source = join(tmp.dir, 'race.bin');
  writeFileSync(source, Buffer.alloc(400_000, 1));
  for (let round = 0; round < 3; round++) {
    const name = `race-${round}.bin`;
    const put = () =>
      runCli([
        'files',
        'put',
        name,
        '--input',
        source,
        '--expected-digest',
        'none',
        '--job',
        'race',
        '--nats',
        server.url,
      ]);
    const results = await Promise.all([put(), put()]);
    assert.equal(results.map((r) => r.code).sort(), [0, 1], results.map((r) => r.stderr).join('\n'));
    assert.match(results.find((r) => r.code === 1)!.stderr, /was not written: expected no file, found digest SHA-256=/);
  }
});

test('stator files: bad arguments are usage errors (exit 2) saying what is wrong; --help prints the usage', async () => {
  const cases: [string[], RegExp][] = [
    [['files'], /needs list, get, put or delete, got nothing/],
    [['files', 'copy', '--job', 'j'], /needs list, get, put or delete, got "copy"/],
    [['files', 'get'], /needs --job <name> or a job module/],
    [['files', 'get', '--job', 'j'], /needs exactly one file name, got none/],
    [['files', 'list', 'a', 'b', '--job', 'j'], /at most one prefix/],
    [['files', 'get', 'a', '--job', 'j', '--input', 'x'], /--input is an option of stator files put, not of get/],
    [['files', 'put', 'a', '--job', 'j', '--files-max-bytes', 'lots'], /--files-max-bytes lots is not a size/],
    [
      ['files', 'put', 'a', '--job', 'j', '--expected-digest', 'bogus'],
      /--expected-digest bogus is not a digest: .*SHA-256=.*, or none/,
    ],
  ];
  for (const [args, message] of cases) {
    const result = await runCli([...args, '--state-dir', join(tmp.dir, 'usage')]);
    assert.is(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, message);
  }
  const help = await runCli(['files', '--help']);
  assert.is(help.code, 0);
  assert.match(help.stdout, /usage: stator files list \[prefix\] --job <name>/);
});

test('stator files: an --input that is missing or a folder, an --output that cannot be written: exit 2, one line, nothing written', async () => {
  const stateDir = join(tmp.dir, 'paths');
  const files = (args: readonly string[]) => runCli(['files', ...args, '--job', 'j', '--state-dir', stateDir]);
  const source = join(tmp.dir, 'paths-source.txt');
  writeFileSync(source, 'kept');
  assert.is((await files(['put', 'kept.txt', '--input', source])).code, 0);
  const cases: [string[], RegExp][] = [
    [
      ['put', 'a.txt', '--input', join(tmp.dir, 'no-such-file')],
      /cannot read --input .*no-such-file: ENOENT.*; pass an existing file/,
    ],
    [['put', 'a.txt', '--input', tmp.dir], /--input .* is a folder; pass a file/],
    [['get', 'kept.txt', '--output', tmp.dir], /cannot write --output .*: EISDIR.*; pass a file path/],
    [
      ['get', 'kept.txt', '--output', join(tmp.dir, 'no-such-folder', 'x')],
      /cannot write --output .*: ENOENT.*; pass a file path/,
    ],
  ];
  for (const [args, message] of cases) {
    const result = await files(args);
    assert.is(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.is(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, message);
  }
  assert.equal(
    (JSON.parse((await files(['list', '--json'])).stdout) as { name: string }[]).map((entry) => entry.name),
    ['kept.txt'],
  );
});

test.run();
