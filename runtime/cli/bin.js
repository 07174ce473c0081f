#!/usr/bin/env node
// The `stator` command. Registers tsx so job modules (and stator itself) can be TypeScript, then
// hands over to main.ts.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
