#!/usr/bin/env -S node --max-semi-space-size=64
// The `stator` command run from stator's TypeScript sources (its own tests, npm start): registers tsx
// so stator itself loads, then hands over to main.ts. The published package's bin is the compiled
// dist/runtime/cli/main.js instead, which needs no loader (see main.ts, also for the heap flag).
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
