#!/usr/bin/env node
// eventful-prune: remove what failed or killed extract attempts left behind in a snapshot store (see --help).
import { main } from './cli/prune.js';

await main(process.argv.slice(2));
