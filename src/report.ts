#!/usr/bin/env node
// eventful-report: how long do passengers wait? Tables on stdout, --html for a page with charts (see --help).
import { main } from './cli/report.js';

await main(process.argv.slice(2));
