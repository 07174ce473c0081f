// Preloaded into a `stator` child (`node --import`) by the start-up tests: when the process exits,
// it writes every module it loaded to $STATOR_TEST_LOADED_LOG, one a line: the ES modules a module
// hook saw load and the CommonJS modules in require.cache (require() and imported CommonJS alike).
import { writeFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';

const log = process.env.STATOR_TEST_LOADED_LOG;
if (log === undefined || log === '') throw new Error('loaded-packages.mjs needs STATOR_TEST_LOADED_LOG');
const { port1, port2 } = new MessageChannel();
port1.unref();
register('./loaded-packages-hook.mjs', { parentURL: import.meta.url, data: { port: port2 }, transferList: [port2] });
const require = createRequire(import.meta.url);

process.on('exit', () => {
  const loaded = new Set(Object.keys(require.cache));
  for (let received = receiveMessageOnPort(port1); received !== undefined; received = receiveMessageOnPort(port1))
    loaded.add(received.message);
  writeFileSync(log, [...loaded].join('\n') + '\n');
});
