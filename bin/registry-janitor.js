#!/usr/bin/env node
// Thin entry: wire the real filesystem, process streams and worker-thread
// scanner into the CLI and exit with its code.
import fs from 'node:fs';
import { runCli } from '../dist/cli.js';
import { makeScanPool } from '../dist/storage/scan-pool.js';

const code = await runCli(process.argv.slice(2), {
  fs,
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  makeScanner: makeScanPool,
});
process.exitCode = code;
