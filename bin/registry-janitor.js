#!/usr/bin/env node
// Thin entry: the CLI runs in a worker thread (see src/main.ts for why).
import { startCli } from '../dist/main.js';

startCli(process.argv.slice(2));
