// Unfinished uploads on memfs, laid out as Distribution 2.8.2 leaves them
// (seen on disk after a real POST + PATCH): _uploads/<uuid>/startedat
// ("2026-12-02T16:26:11Z", RFC 3339, no newline), data, and
// hashstates/sha256/<offset> (one state per offset received: 0 and the
// bytes so far). Every file and directory of it gets one mtime.
import type { MemFs } from './memfs-tree.js';
import type { TreeBuilder } from './tree-builder.js';

export const HOUR = 3_600_000;

export interface UploadSpec {
  /** startedat's content; null: no startedat file. Default: the RFC 3339 of `ageMs` ago. */
  startedAt?: string | null;
  /** how long ago everything in it was written (its mtimes). */
  ageMs: number;
  data?: string;
}

/** RFC 3339 as the registry writes it, `ms` ago. */
export function rfc3339Ago(ms: number): string {
  return new Date(Date.now() - ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Writes one upload; returns its directory. */
export function writeUpload(fs: MemFs, tree: TreeBuilder, name: string, id: string, spec: UploadSpec): string {
  const data = spec.data ?? 'partial layer bytes';
  const startedAt = spec.startedAt === undefined ? rfc3339Ago(spec.ageMs) : spec.startedAt;
  if (startedAt !== null) tree.write({ kind: 'uploadStartedAt', name, id }, startedAt);
  tree.write({ kind: 'uploadData', name, id }, data);
  tree.write({ kind: 'uploadHashState', name, id, algorithm: 'sha256', offset: '0' }, Buffer.alloc(108, 1));
  tree.write({ kind: 'uploadHashState', name, id, algorithm: 'sha256', offset: String(data.length) }, Buffer.alloc(108, 2));
  const dir = tree.pathOf({ kind: 'uploadDir', name, id });
  setTimes(fs, dir, Date.now() - spec.ageMs);
  return dir;
}

/** Sets the mtime of everything under `dir`, and of `dir`, to `ms`. */
export function setTimes(fs: MemFs, dir: string, ms: number): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) setTimes(fs, path, ms);
    else if (!entry.isSymbolicLink()) fs.utimesSync(path, ms / 1000, ms / 1000);
  }
  fs.utimesSync(dir, ms / 1000, ms / 1000);
}

/** Upload ids (UUIDs as the registry makes them). */
export const ID = [
  '0f8fad5b-d9cb-469f-a165-70867728950e',
  '7c9e6679-7425-40de-944b-e07fc1f90ae7',
  'eb7f3189-71a4-42a4-96da-56b7c16afbd3',
  '16fd2706-8baf-433b-82eb-8c7fada847da',
  '886313e1-3b8a-5372-9b90-0c9aee199e5d',
  'a8098c1a-f86e-11da-bd1a-00112444be1e',
] as const;
