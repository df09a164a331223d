// Spreads scanRepository() over worker threads on the real filesystem. The
// reads are synchronous (see io/file-system.ts for the figures), so
// parallelism comes from threads: -j N runs N workers, each scanning one
// repository at a time; the main thread marks as results arrive. This pool
// size is the one concurrency bound of the read side. -j 1 scans in-process.

import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { JanitorError, type ErrorCode } from '../errors.js';
import { InProcessScanner, type RepoScanner } from './repo-scanner.js';
import type { RepoScan } from './scan-repository.js';
import { TreeReader } from './tree-reader.js';

export type WorkerReply =
  | { scan: RepoScan }
  | { error: { code: ErrorCode | undefined; message: string; path: string | undefined } };

export class ScanPool implements RepoScanner {
  private readonly v2: string;
  private readonly size: number;

  constructor(v2: string, size: number) {
    this.v2 = v2;
    this.size = size;
  }

  scan(names: readonly string[], onScan: (scan: RepoScan) => void): Promise<void> {
    if (names.length === 0) return Promise.resolve();
    const workers: Worker[] = [];
    let next = 0;
    let done = 0;
    let settled = false;
    return new Promise<void>((resolve, reject) => {
      const finish = (error?: unknown): void => {
        if (settled) return;
        settled = true;
        void Promise.all(workers.map((w) => w.terminate())).then(() => (error ? reject(error) : resolve()));
      };
      const dispatch = (worker: Worker): void => {
        if (next < names.length) worker.postMessage(names[next++]);
      };
      for (let i = 0; i < Math.min(this.size, names.length); i++) {
        const worker = new Worker(new URL('./scan-worker.js', import.meta.url), { workerData: { v2: this.v2 } });
        workers.push(worker);
        worker.on('message', (reply: WorkerReply) => {
          if (settled) return;
          if ('error' in reply) {
            const { code, message, path } = reply.error;
            finish(new JanitorError(code ?? 'E_UNREADABLE', message, { path }));
            return;
          }
          try {
            onScan(reply.scan);
          } catch (error) {
            finish(error);
            return;
          }
          if (++done === names.length) finish();
          else dispatch(worker);
        });
        worker.on('error', (error) => finish(error));
        dispatch(worker);
      }
    });
  }
}

/** The CLI's scanner factory: in-process for -j 1, a pool otherwise. */
export function makeScanPool(reader: TreeReader, concurrency: number): RepoScanner {
  if (concurrency <= 1 || reader.fs !== (fs as unknown)) return new InProcessScanner(reader);
  return new ScanPool(reader.v2, concurrency);
}
