#!/usr/bin/env node
/** Entry point of `eventful-load` (`node dist/load.js --help`). */
import { main } from './cli/load.js';

await main();
