// Writing the plan file (its format, and reading it: plan-file.ts): what
// `gc --plan FILE`, `prune --plan FILE` and `tags rm --plan FILE` write
// instead of deleting, one record a line as it goes, to FILE.tmp, then the
// end record (count and checksum) and the rename: a crash never leaves half
// a plan under the final name.

import { createHash, type Hash } from 'node:crypto';
import { constants } from 'node:fs';
import { JanitorError, errnoCode } from '../errors.js';
import type { FileSystem } from '../storage/file-system.js';
import { packageVersion } from '../version.js';
import {
  PLAN_FORMAT,
  PLAN_FORMAT_VERSION,
  type PlanHeader,
  type PlanRepository,
  type PlanRequest,
  type PlanTarget,
  type PlanTotals,
  type PlanWritten,
  targetPath,
} from './plan-file.js';

// Lines are gathered into writes of about this many characters.
const WRITE_CHUNK = 1 << 20;

/** Writes a plan: FILE.tmp line by line, then the end record and the rename (writePlan drives it). */
class PlanWriter {
  private readonly fs: FileSystem;
  private readonly file: string;
  private readonly temporary: string;
  private readonly fd: number;
  private readonly hash: Hash = createHash('sha256');
  private buffer = '';
  private records = 0;

  constructor(fs: FileSystem, file: string) {
    this.fs = fs;
    this.file = file;
    this.temporary = `${file}.tmp`;
    try {
      this.fd = fs.openSync(this.temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC);
    } catch (cause) {
      throw this.failure(cause);
    }
  }

  header(header: PlanHeader): void {
    this.put(header);
  }

  target(target: Omit<PlanTarget, 'type' | 'path'>): void {
    this.put({ type: 'target', ...target, path: targetPath(target) });
  }

  repository(repository: Omit<PlanRepository, 'type'>): void {
    this.put({ type: 'repository', ...repository });
  }

  /** The end record, then the rename; returns the records written (the end record included). */
  finish(): number {
    try {
      const end = `${JSON.stringify({ type: 'end', records: this.records, sha256: this.hash.digest('hex') })}\n`;
      this.write(end, true);
      this.fs.closeSync(this.fd);
      this.fs.renameSync(this.temporary, this.file);
    } catch (cause) {
      this.abort();
      throw this.failure(cause);
    }
    return this.records + 1;
  }

  /** Leaves no half plan behind (the temporary file goes). */
  abort(): void {
    try {
      this.fs.closeSync(this.fd);
    } catch {
      // closed already by finish
    }
    try {
      this.fs.unlinkSync(this.temporary);
    } catch {
      // never created, or renamed already
    }
  }

  private put(record: object): void {
    const line = `${JSON.stringify(record)}\n`;
    this.hash.update(line);
    this.records++;
    try {
      this.write(line, false);
    } catch (cause) {
      this.abort();
      throw this.failure(cause);
    }
  }

  private write(text: string, flush: boolean): void {
    this.buffer += text;
    if (!flush && this.buffer.length < WRITE_CHUNK) return;
    const chunk = this.buffer;
    this.buffer = '';
    // A regular file takes the whole write or fails (ENOSPC); a short one is refused all the same.
    const written = this.fs.writeSync(this.fd, chunk);
    if (written !== Buffer.byteLength(chunk)) throw new Error(`short write (${written} of ${Buffer.byteLength(chunk)} bytes)`);
  }

  private failure(cause: unknown): JanitorError {
    const code = errnoCode(cause);
    return new JanitorError('E_PLAN_WRITE', `cannot write the plan ${this.file}: ${code ?? String(cause)}`, { path: this.file, cause });
  }
}

/**
 * Writes a whole plan to request.file: the header (this tool's version, the
 * request, where and when the run started, the totals), what `body` writes,
 * then the end record and the rename. On a failure no part of it is left.
 */
export function writePlan(
  fs: FileSystem,
  request: PlanRequest,
  located: { root: string; v2: string; startedMs: number },
  totals: PlanTotals,
  body: (writer: PlanWriter) => void,
): PlanWritten {
  const writer = new PlanWriter(fs, request.file);
  try {
    writer.header({
      type: 'header',
      format: PLAN_FORMAT,
      formatVersion: PLAN_FORMAT_VERSION,
      toolVersion: packageVersion(),
      command: request.command,
      commandLine: request.commandLine,
      root: located.root,
      v2: located.v2,
      createdAt: new Date(located.startedMs).toISOString(),
      createdMs: located.startedMs,
      options: request.options,
      totals,
    });
    body(writer);
    return { file: request.file, records: writer.finish(), totals };
  } catch (error) {
    writer.abort();
    throw error;
  }
}
