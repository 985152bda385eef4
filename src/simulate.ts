#!/usr/bin/env node
// `node dist/simulate.js --help`: see src/cli/simulate.ts.
import { main } from './cli/simulate.js';

await main(process.argv.slice(2));
