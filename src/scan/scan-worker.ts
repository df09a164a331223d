// A read-side worker thread: takes jobs (scan a repository, size a shard of
// blobs) and answers with the result or the typed error that stopped it.
// See scan-pool.ts.

import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { JanitorError, describeError } from '../errors.js';
import { runVetJob } from './storage-workers.js';
import type { WorkerJob, WorkerReply } from './scan-pool.js';
import { scanRepository } from './scan-repository.js';
import { TreeReader } from '../storage/tree-reader.js';

const reader = new TreeReader(fs, (workerData as { v2: string }).v2);

parentPort?.on('message', (job: WorkerJob) => {
  let reply: WorkerReply;
  try {
    reply = 'scan' in job ? { scan: scanRepository(reader, job.scan, job.freshAfterMs, job.options) } : { vetted: runVetJob(reader, job.vet) };
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
