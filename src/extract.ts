#!/usr/bin/env node
// eventful-extract: drain Kafka topics into a durable snapshot, then commit the group's offsets (see --help).
import { main } from './cli/extract.js';

await main(process.argv.slice(2));
