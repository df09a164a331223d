// A read-side worker thread: takes jobs (scan a batch of repositories, size
// a shard of blobs) and answers with the result or the typed error that stopped it.
// See scan-pool.ts.

import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { JanitorError, describeError } from '../errors.js';
import { type WorkerJob, type WorkerReply, runJob } from './scan-pool.js';
import { TreeReader } from '../storage/tree-reader.js';

const reader = new TreeReader(fs, (workerData as { v2: string }).v2);

parentPort?.on('message', (job: WorkerJob) => {
  let reply: WorkerReply;
  try {
    reply = runJob(reader, job);
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
