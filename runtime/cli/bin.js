#!/usr/bin/env -S node --max-semi-space-size=64
// The `stator` command. Registers tsx so job modules (and stator itself) can be TypeScript, then
// hands over to main.ts.
//
// --max-semi-space-size=64 (MiB; Node's default is 16): a young generation large enough that what a
// checkpoint allocates (capture buffers, descriptors, I/O) dies young instead of being promoted.
// With 1M keys, the default let the old generation grow ~2 MB/s and forced a major GC of the whole
// keyed state every ~8 s, and a major GC whose concurrent marking gets no spare core stops the loop
// for 100-200 ms; with 64 MiB the old generation grows ~0.2 MB/s (docs/performance.md). The shebang
// applies it when `stator` is run directly (npx stator, node_modules/.bin/stator); `node bin.js`
// needs the flag on its own command line. It only sets V8 heap sizing: the JS is the same.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
