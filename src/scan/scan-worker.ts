// A read-side worker thread: takes jobs (scan a batch of repositories, size
// a shard of blobs) and answers with the result or the typed error that stopped it.
// See scan-pool.ts.

import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { JanitorError, describeError } from '../errors.js';
import { type WorkerJob, type WorkerMessage, runJob } from './scan-pool.js';
import { TreeReader } from '../storage/tree-reader.js';

const reader = new TreeReader(fs, (workerData as { v2: string }).v2);

// Each reply is posted as soon as the next one is read (a job's last goes
// without `more`: the calling thread counts the job answered), or the
// error that stopped the job ends it.
parentPort?.on('message', (job: WorkerJob) => {
  let last: WorkerMessage | undefined;
  try {
    for (const reply of runJob(reader, job)) {
      if (last) parentPort?.postMessage(Object.assign(last, { more: true }));
      last = reply;
    }
  } catch (error) {
    if (last) parentPort?.postMessage(Object.assign(last, { more: true }));
    last = {
      error: {
        code: error instanceof JanitorError ? error.code : undefined,
        message: describeError(error),
        path: error instanceof JanitorError ? error.path : undefined,
      },
    };
  }
  // Every job has a reply (batches() makes no empty scan job): without one the run would wait for it forever.
  parentPort?.postMessage(last ?? { error: { code: undefined, message: 'internal error: a job with no reply', path: undefined } });
});
