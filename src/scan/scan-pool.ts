// -j N threads for the read side: the calling thread plus N-1 worker
// threads, all taking jobs (a batch of repositories to scan, a shard of
// blobs to size) from one queue. The reads are synchronous (storage/file-system.ts has the
// figures), so parallelism comes from threads; each extra thread costs
// ~23 MB of RSS (measured on the 1M-blob bench tree), so the calling thread
// works too instead of only coordinating.

import fs from 'node:fs';
import { setImmediate as yieldToEvents } from 'node:timers/promises';
import type { Worker } from 'node:worker_threads';
import { type ErrorCode, JanitorError } from '../errors.js';
import { startThread } from '../entry-points.js';
import type { Digest } from '../model/digest.js';
import {
  type HashedBlob,
  InProcessWorkers,
  type LayerListing,
  type ListedLayerLinks,
  listLayerLinkBatch,
  type StorageWorkers,
  type VetJob,
  type VetOutcome,
  addVetOutcome,
  hashBlobs,
  type SizedBlob,
  sizeBlobs,
  runVetJob,
} from './storage-workers.js';
import type { RepoScan } from '../model/repository.js';
import { type ScanOptions, scanRepository } from './scan-repository.js';
import type { TreeReader } from '../storage/tree-reader.js';

export type WorkerJob =
  | { scan: readonly string[]; freshAfterMs: number | undefined; options: ScanOptions | undefined }
  | { vet: VetJob }
  | { layers: LayerListing[] }
  | { hash: Digest[] }
  | { size: Digest[] };
export type WorkerReply =
  /** one repository of a scan job, as it is read (see ONE BY ONE). */
  | { scanned: RepoScan }
  | { vetted: VetOutcome }
  | { layerLinks: ListedLayerLinks[] }
  | { hashed: HashedBlob[] }
  | { sized: SizedBlob[] }
  | { error: { code: ErrorCode | undefined; message: string; path: string | undefined } };

// Repositories go to the threads in batches, one message each way per
// batch, rather than a message and a postMessage clone each way per
// repository (1,400 of them per 100k blobs on a CI-shaped tree, 14k at 1M;
// a small repository is read in well under a millisecond). A batch is at most
// MAX_BATCH names, and small enough that every thread gets
// BATCHES_PER_THREAD of them, so a tree of a few large repositories is
// still shared out evenly.
const MAX_BATCH = 64;
const BATCHES_PER_THREAD = 16;
// Jobs posted to a worker ahead of its reply: it starts the next batch at
// once instead of waiting for the calling thread (busy with a batch of its
// own) to hear back and post another.
const JOBS_AHEAD = 2;
// See batches(): a thread's share of what is left, in this many slices.
const TAIL_SHARES = 4;

// ONE BY ONE: a scan job's replies are its repositories, one message each
// as it is read, on a worker as on the calling thread; the worker marks
// all but the last of a job `more` (WorkerMessage). Each scan is then
// cloned into the calling thread when its message is dispatched, marked and
// dropped before the next: it dies young. A batch posted as one object graph
// lived through the marking of all of it (up to 64 repositories), long
// enough to be promoted; serialized one by one (v8.serialize, 2026-12-03)
// the scans left a trail of dead buffers on both threads, which V8 collects
// only when their sum grows large. Many-small 1M, warm, `gc -d -j 2`: peak
// RSS 229 MB (one graph) and 166-170 MB (serialized, with the worker's heap
// capped) -> 156-157 MB, and no slower (13.7-15.7 s against 15.5-18.4 s).

/** A reply as a worker posts it: `more` on every reply of a job but its last. */
export type WorkerMessage = WorkerReply & { more?: true };

/** Runs one job, on a worker (scan-worker.ts) or here: a scan gives one reply per repository as it is read, any other job one. */
export function* runJob(reader: TreeReader, job: WorkerJob): Generator<WorkerReply> {
  if ('vet' in job) yield { vetted: runVetJob(reader, job.vet) };
  else if ('layers' in job) yield { layerLinks: listLayerLinkBatch(reader, job.layers) };
  else if ('hash' in job) yield { hashed: hashBlobs(reader, job.hash) };
  else if ('size' in job) yield { sized: sizeBlobs(reader, job.size) };
  else for (const name of job.scan) yield { scanned: scanRepository(reader, name, job.freshAfterMs, job.options) };
}

// A worker's young generation: V8's default (16 MB semi-spaces) adds
// ~40 MB of RSS per thread for no speed gain on this workload; 3 MB against
// 6 MB saves 2-3 MB more (many-small 1M, `gc -d -j 2`, 154 against 156 MB).
const WORKER_YOUNG_GENERATION_MB = 3;
// A worker's old generation, capped: what it keeps alive is one job (a batch
// of scans, each posted as soon as it is read), yet under V8's default
// limit it let dead scans pile up to ~24 MB of heap before collecting them
// (many-small 100k, `gc -d -j 2`: 132 -> 118 MB of peak RSS with the cap).
// A job that needs more than the cap (one huge repository) is not an error:
// the worker dies out of memory and its unanswered jobs run on the calling
// thread, whose heap is not capped (see run()).
const WORKER_OLD_GENERATION_MB = 16;

export class ThreadPool implements StorageWorkers {
  private readonly reader: TreeReader;
  private readonly extraThreads: number;
  private workers: Worker[] = [];
  /** the first error of a worker outside a run (ensureWorkers). */
  private failure: Error | undefined;

  private readonly oldGenerationMb: number;

  /** `oldGenerationMb`: each worker's heap cap (tests make it tiny). */
  constructor(reader: TreeReader, threads: number, oldGenerationMb = WORKER_OLD_GENERATION_MB) {
    this.reader = reader;
    this.extraThreads = threads - 1;
    this.oldGenerationMb = oldGenerationMb;
  }

  scanRepositories(names: readonly string[], onScan: (scan: RepoScan) => void, freshAfterMs?: number, options?: ScanOptions): Promise<void> {
    const size = Math.max(1, Math.min(MAX_BATCH, Math.floor(names.length / ((this.extraThreads + 1) * BATCHES_PER_THREAD))));
    return this.run(batches(names, size, this.extraThreads + 1, freshAfterMs, options), (reply) => onScan((reply as { scanned: RepoScan }).scanned));
  }

  async vet(jobs: Iterable<VetJob>): Promise<VetOutcome> {
    const total: VetOutcome = { bytes: 0, fresh: [] };
    await this.run(
      mapJobs(jobs, (job) => ({ vet: job })),
      (reply) => void addVetOutcome(total, (reply as { vetted: VetOutcome }).vetted),
    );
    return total;
  }

  listLayerLinks(batches: Iterable<LayerListing[]>, onListed: (listed: ListedLayerLinks[]) => void): Promise<void> {
    return this.run(
      mapJobs(batches, (batch) => ({ layers: batch })),
      (reply) => onListed((reply as { layerLinks: ListedLayerLinks[] }).layerLinks),
    );
  }

  hash(batches: Iterable<Digest[]>, onHashed: (hashed: HashedBlob[]) => void): Promise<void> {
    return this.run(
      mapJobs(batches, (batch) => ({ hash: batch })),
      (reply) => onHashed((reply as { hashed: HashedBlob[] }).hashed),
    );
  }

  size(batches: Iterable<Digest[]>, onSized: (sized: SizedBlob[]) => void): Promise<void> {
    return this.run(
      mapJobs(batches, (batch) => ({ size: batch })),
      (reply) => onSized((reply as { sized: SizedBlob[] }).sized),
    );
  }

  start(): void {
    this.ensureWorkers();
  }

  async close(): Promise<void> {
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((w) => w.terminate()));
  }

  private ensureWorkers(): void {
    while (this.workers.length < this.extraThreads) {
      const worker = startThread(
        'scan-worker',
        () => new URL('./scan-worker.js', import.meta.url),
        { v2: this.reader.v2 },
        { resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB, maxOldGenerationSizeMb: this.oldGenerationMb } },
      );
      // Started before its first job (start()), a worker can fail while no
      // run listens: kept here for the next run to throw, instead of an
      // unhandled 'error' event ending the process. One out of memory is
      // dropped instead (a run hands its jobs to the calling thread); the
      // next run starts a fresh one.
      worker.on('error', (error) => {
        this.workers = this.workers.filter((w) => w !== worker);
        if (!isOutOfMemory(error)) this.failure ??= asError(error);
      });
      this.workers.push(worker);
    }
  }

  /**
   * Runs every job once, here or on a worker; the first error stops the
   * rest. Jobs are taken from the iterable as threads free up, so a
   * producer need not hold them all.
   */
  private async run(jobs: Iterable<WorkerJob>, onReply: (reply: WorkerReply) => void): Promise<void> {
    const source = jobs[Symbol.iterator]();
    let first: IteratorResult<WorkerJob> | undefined = source.next();
    if (first.done) return;
    this.ensureWorkers();
    // A worker that died between runs would answer none of this run's jobs.
    if (this.failure !== undefined) throw this.failure;
    // The jobs of a worker that died out of memory, for the calling thread.
    const orphans: WorkerJob[] = [];
    const take = (): WorkerJob | undefined => {
      const orphan = orphans.shift();
      if (orphan) return orphan;
      const result = first ?? source.next();
      first = undefined;
      return result.done ? undefined : result.value;
    };
    let pending = 0;
    let failure: Error | undefined;
    let wake: () => void = () => {};
    /** Takes a reply in; false once the run has failed. */
    const accept = (reply: WorkerReply): boolean => {
      if ('error' in reply) {
        const { code, message, path } = reply.error;
        failure ??= new JanitorError(code ?? 'E_UNREADABLE', message, { path });
      } else if (failure === undefined) {
        try {
          onReply(reply);
        } catch (error) {
          failure = asError(error);
        }
      }
      return failure === undefined;
    };
    const listeners = this.workers.map((worker) => {
      const posted: WorkerJob[] = []; // this worker's jobs not yet answered, in order (it answers in order)
      let delivered = 0; // replies of posted[0] already taken in (a scan's repositories, sent `more`)
      let dead = false;
      const dispatch = (): void => {
        const job = failure === undefined && !dead ? take() : undefined;
        if (job) {
          pending++;
          posted.push(job);
          worker.postMessage(job);
        }
      };
      const onMessage = (reply: WorkerMessage): void => {
        if (reply.more) {
          delivered++;
          accept(reply);
          return;
        }
        pending--;
        posted.shift();
        delivered = 0;
        accept(reply);
        dispatch();
        wake();
      };
      // A worker that died answers no more of its jobs: out of memory, they
      // run on the calling thread (reads only, so running one again is
      // safe), less the repositories of a scan it had already sent, which
      // must not be marked twice; any other death fails the run.
      const onError = (error: unknown): void => {
        dead = true;
        pending -= posted.length;
        const head = posted[0];
        if (head && 'scan' in head && delivered > 0) posted[0] = { ...head, scan: head.scan.slice(delivered) };
        if (isOutOfMemory(error)) orphans.push(...posted);
        else failure ??= asError(error);
        posted.length = 0;
        delivered = 0;
        wake();
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      for (let i = 0; i < JOBS_AHEAD; i++) dispatch();
      return { worker, onMessage, onError };
    });
    try {
      for (;;) {
        for (let job = take(); job && failure === undefined; job = failure === undefined ? take() : undefined) {
          try {
            for (const reply of runJob(this.reader, job)) if (!accept(reply)) break; // after a failure, the rest of the batch is not read
          } catch (error) {
            failure ??= asError(error);
          }
          await yieldToEvents(); // let the workers' replies in
        }
        if (pending === 0 && (orphans.length === 0 || failure !== undefined)) break;
        if (orphans.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      for (const { worker, onMessage, onError } of listeners) {
        worker.off('message', onMessage);
        worker.off('error', onError);
      }
    }
    if (failure !== undefined) throw failure;
  }
}

/** The CLI's factory: in-process for -j 1 or a non-Node filesystem, threads otherwise. */
export function makeStorageWorkers(reader: TreeReader, threads: number): StorageWorkers {
  if (threads <= 1 || reader.fs !== (fs as unknown)) return new InProcessWorkers(reader);
  return new ThreadPool(reader, threads);
}

/** A worker's death for want of heap (its resourceLimits): Node's ERR_WORKER_OUT_OF_MEMORY. */
function isOutOfMemory(error: unknown): boolean {
  return (error as { code?: unknown } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
}

/** What was thrown, as an Error: a value that is not one keeps its text (describeError prints the same). */
function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown));
}

/**
 * The names in slices of at most `size`, taken as the threads ask for them;
 * near the end a slice is a share of what is left (TAIL_SHARES per thread),
 * so the threads finish together. With fixed slices the calling thread sat
 * idle ~150 ms at the end of the 100k many-small mark (~2.2 s), waiting for
 * a worker's last two batches of 43 repositories.
 */
function* batches(
  names: readonly string[],
  size: number,
  threads: number,
  freshAfterMs: number | undefined,
  options: ScanOptions | undefined,
): Generator<WorkerJob> {
  for (let start = 0; start < names.length;) {
    const take = Math.max(1, Math.min(size, Math.ceil((names.length - start) / (threads * TAIL_SHARES))));
    yield { scan: names.slice(start, start + take), freshAfterMs, options };
    start += take;
  }
}

function* mapJobs<T>(items: Iterable<T>, wrap: (item: T) => WorkerJob): Generator<WorkerJob> {
  for (const item of items) yield wrap(item);
}
