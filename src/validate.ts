#!/usr/bin/env node
/** Entry point of `eventful-validate` (`node dist/validate.js --help`): schema checks for CI. */
import { main } from './cli/validate.js';

await main();
