#!/usr/bin/env node
// The `logbook` executable: loads the TypeScript CLI through tsx (see docs/decisions.md: no build step).
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
