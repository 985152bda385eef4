#!/usr/bin/env node
/**
 * scripts/demo's digest of one step: `node dist/demo/print-digest.js <step> <output file> <wall seconds>` prints
 * {@link stepDigest} of the file's last line (the command's JSON summary) on stdout.
 */
import { readFileSync } from 'node:fs';
import { stepDigest } from './step-digest.js';

const [step = '', file = '', wallSeconds = '0'] = process.argv.slice(2);
const lastLine = readFileSync(file, 'utf8').trimEnd().split('\n').at(-1) ?? '';
console.log(stepDigest(step, lastLine, Number(wallSeconds)));
