// A scan worker: receives repository names, answers with their RepoScan (or
// the typed error that stopped the scan). See scan-pool.ts.

import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { JanitorError, describeError } from '../errors.js';
import type { WorkerReply } from './scan-pool.js';
import { scanRepository } from './scan-repository.js';
import { TreeReader } from './tree-reader.js';

const reader = new TreeReader(fs, (workerData as { v2: string }).v2);

parentPort?.on('message', (name: string) => {
  let reply: WorkerReply;
  try {
    reply = { scan: scanRepository(reader, name) };
  } catch (error) {
    reply = {
      error: {
        code: error instanceof JanitorError ? error.code : undefined,
        message: describeError(error),
        path: error instanceof JanitorError ? error.path : undefined,
      },
    };
  }
  parentPort?.postMessage(reply);
});
