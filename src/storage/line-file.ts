// A file of lines read in chunks through the injected FileSystem, first line
// first or last line first, and one written aside in chunks then renamed
// over its original: what the trash manifest (trash-manifest.ts) needs so
// that `trash restore` and `trash empty` never hold it whole (~200 bytes an
// item: ~4 GB for 20M items).

import { constants } from 'node:fs';
import type { FileSystem } from './file-system.js';

/** 64 KiB: a read or write call per ~300 manifest records. */
const CHUNK = 64 * 1024;
const NEWLINE = 0x0a;

function openForReading(fs: FileSystem, file: string): number {
  return fs.openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
}

/**
 * Visits every line, first to last, with its 1-based number; a last line
 * without its newline (cut short) too. `visit` returns false to stop.
 */
export function forEachLine(fs: FileSystem, file: string, visit: (line: string, number: number) => unknown): void {
  const fd = openForReading(fs, file);
  try {
    const buffer = Buffer.alloc(CHUNK);
    let rest = Buffer.alloc(0);
    let number = 0;
    for (;;) {
      const n = fs.readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      const data = rest.length > 0 ? Buffer.concat([rest, buffer.subarray(0, n)]) : buffer.subarray(0, n);
      let start = 0;
      for (let at = data.indexOf(NEWLINE); at >= 0; at = data.indexOf(NEWLINE, start)) {
        if (visit(data.subarray(start, at).toString('utf8'), ++number) === false) return;
        start = at + 1;
      }
      rest = Buffer.from(data.subarray(start));
    }
    if (rest.length > 0) visit(rest.toString('utf8'), ++number);
  } finally {
    fs.closeSync(fd);
  }
}

/** Visits every line, last to first (an empty one after the last newline included); `first`: the file's first line, visited last. */
export function forEachLineBackward(fs: FileSystem, file: string, visit: (line: string, first: boolean) => void): void {
  const fd = openForReading(fs, file);
  try {
    const buffer = Buffer.alloc(CHUNK);
    let position = fs.fstatSync(fd).size;
    // The bytes before the first newline of what was read so far: the end of a line that starts further up.
    let head = Buffer.alloc(0);
    while (position > 0) {
      const length = Math.min(CHUNK, position);
      position -= length;
      let read = 0;
      while (read < length) {
        const n = fs.readSync(fd, buffer, read, length - read, position + read);
        if (n === 0) throw new Error(`${file} shrank while it was read`);
        read += n;
      }
      const data = Buffer.concat([buffer.subarray(0, length), head]);
      let end = data.length;
      // lastIndexOf with a negative offset counts from the end: stop at 0.
      for (let at = data.lastIndexOf(NEWLINE, end - 1); at >= 0; at = at > 0 ? data.lastIndexOf(NEWLINE, at - 1) : -1) {
        visit(data.subarray(at + 1, end).toString('utf8'), false);
        end = at;
      }
      head = Buffer.from(data.subarray(0, end));
    }
    visit(head.toString('utf8'), true);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A file written line by line to `aside` and renamed over `file` by
 * `commit`: until then `file` stays whole (an interrupted rewrite leaves
 * it as it was, and `aside` is truncated by the next one).
 */
export class LineFileRewrite {
  private readonly fs: FileSystem;
  private readonly aside: string;
  private readonly file: string;
  private fd: number | undefined;
  private buffer = '';

  constructor(fs: FileSystem, file: string, aside: string) {
    this.fs = fs;
    this.file = file;
    this.aside = aside;
    this.fd = fs.openSync(aside, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW);
  }

  write(line: string): void {
    this.buffer += `${line}\n`;
    if (this.buffer.length >= CHUNK) this.flush();
  }

  /** Renames the rewrite over the file. */
  commit(): void {
    this.flush();
    this.close();
    this.fs.renameSync(this.aside, this.file);
  }

  /** Closes it if `commit` did not (a failure part-way): the file stays as it was. */
  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    this.fs.closeSync(fd);
  }

  private flush(): void {
    if (this.buffer === '' || this.fd === undefined) return;
    const chunk = this.buffer;
    this.buffer = '';
    const written = this.fs.writeSync(this.fd, chunk);
    if (written !== Buffer.byteLength(chunk)) throw new Error(`short write to ${this.aside} (${written} of ${Buffer.byteLength(chunk)} bytes)`);
  }
}
