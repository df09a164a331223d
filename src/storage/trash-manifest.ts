// The manifest of a trash directory (--trash DIR, trash.ts): JSON Lines,
// DIR/manifest.jsonl. The first line is the header (the v2 directory the
// trash belongs to), then one record per item moved in, appended before its
// rename (write-ahead): a record whose item is not in DIR names nothing (a
// crash between the two, or an item restored or emptied since) and is
// skipped. A record says where its item came from (the path relative to v2,
// which the layout must parse as the directory of its kind), what it was
// (kind, repository, digest, tag) and when it was moved; an item is
// DIR/<id>, or, in a trash of format 2, DIR/<in>/<hex> when the record has
// `in`: a blob or revision the sweep had moved aside, taken into the trash
// with the whole quarantine directory that held it (a blob shard, or one
// repository's revisions of one algorithm: trash.ts takeGroup), one rename
// for ~50 items. A line that is not a valid record (cut short by a crash, or
// edited) is reported and kept as it is; the item it named, if any, is left
// in DIR, named by no record.
//
//   {"registryJanitorTrash":1,"v2":"/var/lib/registry/docker/registry/v2","createdAt":"2026-..."}
//   {"id":"m1x2-3f-a1b2c3-0","kind":"blob","path":"blobs/sha256/ab/ab12...","digest":"sha256:ab12...","size":2811,"time":"2026-..."}
//   {"id":"m1x2-3f-a1b2c3-2","kind":"blob","path":"blobs/sha256/cd/cd34...","digest":"sha256:cd34...","size":912,"time":"2026-...","in":"m1x2-3f-a1b2c3-1"}
//
// Format 1 (before 2026-12-04) has no `in`; a trash made then keeps taking
// items one by one (its header says 1, which older versions read), and an
// older version refuses a format-2 trash whole (its header is none it
// knows) rather than miss the items inside a group.

import { type Digest, splitDigest } from '../model/digest.js';
import { JanitorError, errnoCode } from '../errors.js';
import type { DeletionTarget } from './deletion-target.js';
import type { FileSystem } from './file-system.js';
import { LineFileRewrite, forEachLine, forEachLineBackward } from './line-file.js';
import { type PathSpec, parsePath, renderPath } from './layout.js';

export const TRASH_MANIFEST = 'manifest.jsonl';
/** The rewrite of the manifest (trash restore, trash empty), renamed over it once complete. */
export const TRASH_MANIFEST_REWRITE = 'manifest.jsonl.tmp';
/** What this version writes into a new trash; it reads 1 and 2. */
const FORMAT = 2;
type Format = 1 | 2;

/** What an item was: a target's kind (a quarantined one as the kind it had), or a directory removed because the run emptied it. */
export type TrashKind = 'tag' | 'tagIndexEntry' | 'revision' | 'layerLink' | 'blob' | 'upload' | 'directory';

export interface TrashHeader {
  registryJanitorTrash: Format;
  v2: string;
  createdAt: string;
}

export interface TrashRecord {
  /** the item's name in DIR (a directory record has no item). */
  id: string;
  kind: TrashKind;
  /** where it came from, relative to v2. */
  path: string;
  repository?: string;
  digest?: Digest;
  tag?: string;
  /** a blob's data bytes, an upload's bytes; 0 otherwise. */
  size: number;
  /** when it was moved in (ISO 8601). */
  time: string;
  /** format 2: the group it went in with (a blob or revision only); the item is DIR/<in>/<hex>. */
  in?: string;
}

/** Where a record's item is, relative to DIR: its id, or its group and its hex. */
export function itemNameOf(record: TrashRecord): string {
  return record.in === undefined || record.digest === undefined ? record.id : `${record.in}/${splitDigest(record.digest).hex}`;
}

/** Ids are made by trash.ts: base-36 time, pid, random hex, sequence; nothing else can name a path in DIR. */
export const TRASH_ID = /^[0-9a-z]{1,12}-[0-9a-z]{1,8}-[0-9a-f]{6}-[0-9]{1,12}$/;

/** The layout kind each record kind's path must parse as. */
const SPEC_KINDS: Record<TrashKind, readonly PathSpec['kind'][]> = {
  tag: ['tagDir'],
  tagIndexEntry: ['tagIndexDir'],
  revision: ['revisionDir'],
  layerLink: ['layerDir'],
  blob: ['blobDir'],
  upload: ['uploadDir'],
  // what removing an emptied repository rmdirs (vacuum-housekeeping.ts)
  directory: ['repositoryDir', 'manifestsRoot', 'revisionsRoot', 'revisionsAlgorithm', 'tagsRoot', 'layersRoot', 'layersAlgorithm', 'uploadsRoot'],
};

/** A target as a record's fields: where it came from (a quarantined item: where it was before it went aside). */
export function originOf(target: DeletionTarget): Pick<TrashRecord, 'kind' | 'repository' | 'digest' | 'tag'> & { spec: PathSpec } {
  switch (target.kind) {
    case 'tag':
      return { kind: 'tag', repository: target.repository, tag: target.tag, spec: { kind: 'tagDir', name: target.repository, tag: target.tag } };
    case 'tagIndexEntry':
      return {
        kind: 'tagIndexEntry',
        repository: target.repository,
        tag: target.tag,
        digest: target.digest,
        spec: { kind: 'tagIndexDir', name: target.repository, tag: target.tag, digest: target.digest },
      };
    case 'revision':
    case 'quarantinedRevision':
      return {
        kind: 'revision',
        repository: target.repository,
        digest: target.digest,
        spec: { kind: 'revisionDir', name: target.repository, digest: target.digest },
      };
    case 'layerLink':
      return {
        kind: 'layerLink',
        repository: target.repository,
        digest: target.digest,
        spec: { kind: 'layerDir', name: target.repository, digest: target.digest },
      };
    case 'blob':
    case 'quarantinedBlob':
      return { kind: 'blob', digest: target.digest, spec: { kind: 'blobDir', digest: target.digest } };
    case 'upload':
      return { kind: 'upload', repository: target.repository, spec: { kind: 'uploadDir', name: target.repository, id: target.id } };
    default:
      // This tool's own files and an emptied repository's directories (recorded one by one) never go whole.
      throw new Error(`a ${target.kind} target is never moved to the trash`);
  }
}

/** The target whose shape a record's item has (trash empty walks it as that target: vacuum.ts). */
export function targetOfRecord(spec: PathSpec): DeletionTarget | undefined {
  switch (spec.kind) {
    case 'tagDir':
      return { kind: 'tag', repository: spec.name, tag: spec.tag };
    case 'tagIndexDir':
      return { kind: 'tagIndexEntry', repository: spec.name, tag: spec.tag, digest: spec.digest };
    case 'revisionDir':
      return { kind: 'revision', repository: spec.name, digest: spec.digest };
    case 'layerDir':
      return { kind: 'layerLink', repository: spec.name, digest: spec.digest };
    case 'blobDir':
      return { kind: 'blob', digest: spec.digest };
    case 'uploadDir':
      return { kind: 'upload', repository: spec.name, id: spec.id };
    default:
      return undefined; // a directory record: no item
  }
}

/**
 * A line checked as a record: its path parses (layout.ts) as the directory
 * of its kind, with the repository, digest and tag it states, and its id
 * is one trash.ts makes. `../../etc`, an unknown kind or a mismatch: undefined.
 */
export function checkRecord(value: unknown): { record: TrashRecord; spec: PathSpec } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Partial<Record<keyof TrashRecord, unknown>>;
  if (typeof r.id !== 'string' || !TRASH_ID.test(r.id) || typeof r.kind !== 'string' || !Object.hasOwn(SPEC_KINDS, r.kind)) return undefined;
  if (typeof r.path !== 'string' || typeof r.time !== 'string' || Number.isNaN(Date.parse(r.time))) return undefined;
  if (typeof r.size !== 'number' || !Number.isSafeInteger(r.size) || r.size < 0) return undefined;
  const kind = r.kind as TrashKind;
  if (r.in !== undefined && (typeof r.in !== 'string' || !TRASH_ID.test(r.in) || (kind !== 'blob' && kind !== 'revision') || r.digest === undefined))
    return undefined;
  const spec = parsePath(r.path);
  if (spec === undefined || !SPEC_KINDS[kind].includes(spec.kind) || renderPath(spec) !== r.path) return undefined;
  const fields = spec as Partial<{ name: string; digest: Digest; tag: string }>;
  if (r.repository !== undefined && r.repository !== fields.name) return undefined;
  if (r.digest !== undefined && r.digest !== fields.digest) return undefined;
  if (r.tag !== undefined && r.tag !== fields.tag) return undefined;
  return { record: r as TrashRecord, spec };
}

/** The header line, if `line` is one. */
export function parseHeader(line: string): TrashHeader | undefined {
  try {
    const value = JSON.parse(line) as Partial<Record<keyof TrashHeader, unknown>> | null;
    if (
      (value?.registryJanitorTrash !== 1 && value?.registryJanitorTrash !== 2) ||
      typeof value.v2 !== 'string' ||
      !value.v2.startsWith('/') ||
      typeof value.createdAt !== 'string'
    )
      return undefined;
    return value as unknown as TrashHeader;
  } catch {
    return undefined;
  }
}

/**
 * Why a first line that is no header this version reads is refused, when a
 * newer version wrote it (its format above this one's; nothing in that
 * trash is touched), else undefined.
 */
export function newerFormatRefusal(line: string): string | undefined {
  let format: unknown;
  try {
    format = (JSON.parse(line) as { registryJanitorTrash?: unknown } | null)?.registryJanitorTrash;
  } catch {
    return undefined;
  }
  if (typeof format !== 'number' || !Number.isSafeInteger(format) || format <= FORMAT) return undefined;
  return `a newer registry-janitor made this trash (format ${format}; this version reads formats 1 and 2): restore or empty it with that version; nothing was touched`;
}

/** Whether a trash of this header takes a quarantine directory whole (format 2: records may have `in`). */
export function takesGroups(header: TrashHeader): boolean {
  return header.registryJanitorTrash >= 2;
}

export function headerLine(v2: string, now: number): string {
  const header: TrashHeader = { registryJanitorTrash: FORMAT, v2, createdAt: new Date(now).toISOString() };
  return `${JSON.stringify(header)}\n`;
}

export interface TrashManifest {
  /** the manifest's path. */
  file: string;
  header: TrashHeader;
  /** how many lines are valid records (they are read again, one at a time, by forEachTrashRecord: never held all at once). */
  records: number;
  /** lines that are no valid record: their number (1-based) and text, kept as they are on a rewrite. */
  unreadable: { number: number; line: string }[];
}

/** A valid record, the layout kind of its origin, and its line as written. */
export interface TrashEntry {
  record: TrashRecord;
  spec: PathSpec;
  line: string;
}

function checkLine(line: string): TrashEntry | undefined {
  try {
    const checked = checkRecord(JSON.parse(line));
    return checked && { ...checked, line };
  } catch {
    return undefined;
  }
}

function unreadableError(dir: string, file: string, cause: unknown): JanitorError {
  return new JanitorError('E_UNREADABLE', `${dir}: its manifest cannot be read: ${errnoCode(cause) ?? String(cause)}`, { path: file, cause });
}

/**
 * Reads DIR's manifest once, a chunk at a time: its header, how many
 * records it holds, the lines that are none. One clear line (E_USAGE) when
 * DIR is no trash directory.
 */
export function readTrashManifest(fs: FileSystem, dir: string): TrashManifest {
  const file = `${dir}/${TRASH_MANIFEST}`;
  const notTrash = (why: string, cause?: unknown): JanitorError =>
    new JanitorError('E_USAGE', `${dir} is not a registry-janitor trash directory (${why})`, { path: file, cause });
  let header: TrashHeader | undefined;
  let first = '';
  const manifest = { file, records: 0, unreadable: [] as TrashManifest['unreadable'] };
  try {
    forEachLine(fs, file, (line, number) => {
      if (number === 1) {
        first = line;
        header = parseHeader(line);
        return header !== undefined;
      }
      if (line === '') return;
      if (checkLine(line)) manifest.records++;
      else manifest.unreadable.push({ number, line });
    });
  } catch (cause) {
    throw errnoCode(cause) === 'ENOENT'
      ? notTrash('it has no manifest.jsonl', cause)
      : notTrash(`its manifest cannot be read: ${errnoCode(cause) ?? String(cause)}`, cause);
  }
  if (!header) {
    const newer = newerFormatRefusal(first);
    if (newer !== undefined) throw new JanitorError('E_USAGE', `${dir}: ${newer}`, { path: file });
    throw notTrash(`the first line of ${file} is not a trash header`);
  }
  return { ...manifest, header };
}

/**
 * Visits the valid records, oldest first or newest first, read again a
 * chunk at a time (the lines that are none are in `manifest.unreadable`).
 */
export function forEachTrashRecord(fs: FileSystem, manifest: TrashManifest, order: 'oldest-first' | 'newest-first', visit: (entry: TrashEntry) => void): void {
  const dir = manifest.file.slice(0, manifest.file.lastIndexOf('/'));
  const each = (line: string): void => {
    if (line === '') return;
    const entry = checkLine(line);
    if (entry) visit(entry);
  };
  try {
    if (order === 'oldest-first') {
      forEachLine(fs, manifest.file, (line, number) => {
        if (number > 1) each(line);
      });
    } else {
      forEachLineBackward(fs, manifest.file, (line, first) => {
        if (!first) each(line); // the header comes last
      });
    }
  } catch (cause) {
    if (cause instanceof JanitorError) throw cause;
    throw unreadableError(dir, manifest.file, cause);
  }
}

/**
 * The rewrite of the manifest (trash restore, trash empty): the header,
 * the lines `keep` is given, then the unreadable lines, written aside a
 * chunk at a time and renamed over it by `commit`: an interrupted rewrite
 * leaves the old manifest whole (its records of items gone name nothing).
 */
export class TrashManifestRewrite {
  private readonly manifest: TrashManifest;
  private readonly out: LineFileRewrite;

  constructor(fs: FileSystem, manifest: TrashManifest) {
    this.manifest = manifest;
    const dir = manifest.file.slice(0, manifest.file.lastIndexOf('/'));
    this.out = new LineFileRewrite(fs, manifest.file, `${dir}/${TRASH_MANIFEST_REWRITE}`);
    this.out.write(JSON.stringify(manifest.header));
  }

  keep(entry: { line: string }): void {
    this.out.write(entry.line);
  }

  commit(): void {
    for (const { line } of this.manifest.unreadable) this.out.write(line);
    this.out.commit();
  }

  /** Closes it if `commit` did not: the manifest stays as it was. */
  close(): void {
    this.out.close();
  }
}
