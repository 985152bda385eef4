#!/usr/bin/env node
// eventful-lag: how far behind the snapshot is, per partition and topic; exit 99 below --min-lag/--max-age (see --help).
import { main } from './cli/lag.js';

await main(process.argv.slice(2));
