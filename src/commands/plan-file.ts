// The plan file: what `gc --plan FILE`, `prune --plan FILE` and `tags rm
// --plan FILE` write instead of deleting, and what `plan show` and `apply`
// read. This module owns the format and reads it; plan-writer.ts writes it
// (the commands share both, as they share journal.ts). JSON Lines, one
// record a line, written as it goes (a 20M-blob plan is never one string in
// memory):
//
//   {"type":"header","format":"registry-janitor-plan","formatVersion":1,...}
//                     tool version, root and v2, command and its command
//                     line, the options that decide the selection (resolved:
//                     rules as compiled, not a policy file's path), time,
//                     totals
//   {"type":"target",...}       one a target: kind, repository, digest, tag,
//                     path (relative to v2), size, the reason it goes
//   {"type":"repository",...}   one a repository the decision rests on: its
//                     fingerprint (scan/fingerprint-repository.ts), its
//                     tag and revision counts, the tags that stay
//   {"type":"end","records":N,"sha256":"..."}   N: the lines before it; the
//                     SHA-256 of those lines' bytes, newlines included
//
// Written to FILE.tmp and renamed: a crash never leaves half a plan under
// the final name. A plan with no end record, the wrong count or checksum,
// or anything after the end is refused (E_BAD_PLAN) in one line, as is a
// format version this tool does not read (E_PLAN_VERSION).

import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import * as v from 'valibot';
import { JanitorError, errnoCode } from '../errors.js';
import { type Digest, parseDigest } from '../model/digest.js';
import type { FileSystem } from '../storage/file-system.js';
import { renderPath } from '../storage/layout.js';
import { isRepositoryName, isTagName } from '../storage/repository-names.js';

export const PLAN_FORMAT = 'registry-janitor-plan';
export const PLAN_FORMAT_VERSION = 1;

export type PlanTargetKind = 'tag' | 'tagIndexEntry' | 'revision' | 'linklessRevision' | 'layerLink' | 'blob';

const digestSchema = v.pipe(
  v.string(),
  v.check((text) => parseDigest(text) !== undefined, 'not a digest'),
  v.transform((text) => text as Digest),
);
const repositorySchema = v.pipe(v.string(), v.check(isRepositoryName, 'not a repository name'));
const tagSchema = v.pipe(v.string(), v.check(isTagName, 'not a tag name'));
const count = v.pipe(v.number(), v.integer(), v.minValue(0));

const RULE_SCHEMA = v.strictObject({
  origin: v.string(),
  repositories: v.array(v.string()),
  excludeRepositories: v.array(v.string()),
  tag: v.nullable(v.string()),
  keepTags: v.array(v.string()),
  keepLatest: v.nullable(count),
  olderThanMs: v.nullable(count),
  protectOnly: v.boolean(),
});

const TOTALS_SCHEMA = v.strictObject({
  repositories: count,
  tags: count,
  tagIndexEntries: count,
  manifests: count,
  linklessRevisions: count,
  layerLinks: count,
  blobs: count,
  bytes: count,
});

const HEADER_SCHEMA = v.strictObject({
  type: v.literal('header'),
  format: v.literal(PLAN_FORMAT),
  formatVersion: v.literal(PLAN_FORMAT_VERSION),
  toolVersion: v.string(),
  command: v.picklist(['gc', 'prune', 'tags rm']),
  commandLine: v.string(),
  root: v.string(),
  v2: v.string(),
  createdAt: v.string(),
  createdMs: v.number(),
  options: v.strictObject({
    deleteUntagged: v.boolean(),
    graceMs: count,
    skipRepositories: v.array(v.string()),
    purgeUploadsMs: v.nullable(count),
    removeEmptyRepos: v.boolean(),
    free: v.nullable(count),
    selection: v.nullable(v.strictObject({ explicit: v.array(v.strictObject({ repository: v.string(), tag: v.string() })), rules: v.array(RULE_SCHEMA) })),
  }),
  totals: TOTALS_SCHEMA,
});

const TARGET_SCHEMA = v.strictObject({
  type: v.literal('target'),
  kind: v.picklist(['tag', 'tagIndexEntry', 'revision', 'linklessRevision', 'layerLink', 'blob']),
  repository: v.nullable(repositorySchema),
  digest: v.nullable(digestSchema),
  tag: v.nullable(tagSchema),
  /** a tag: when its current link was written (the push the plan chose). */
  pushedMs: v.nullable(v.number()),
  path: v.string(),
  size: count,
  reason: v.string(),
});

const REPOSITORY_SCHEMA = v.strictObject({
  type: v.literal('repository'),
  name: repositorySchema,
  fingerprint: v.string(),
  tags: count,
  revisions: count,
  layers: v.array(v.picklist(['sha256', 'sha384', 'sha512'])),
  keptTags: v.array(v.tuple([tagSchema, digestSchema])),
  /** every revision had its link and manifest when read (mark-repository.ts listRevisionNames): apply's recheck may compare names. */
  everyRevisionRead: v.optional(v.boolean()),
});

const END_SCHEMA = v.strictObject({ type: v.literal('end'), records: count, sha256: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)) });

export type PlanHeader = v.InferOutput<typeof HEADER_SCHEMA>;
export type PlanTotals = v.InferOutput<typeof TOTALS_SCHEMA>;
export type PlanTarget = v.InferOutput<typeof TARGET_SCHEMA>;
export type PlanRepository = v.InferOutput<typeof REPOSITORY_SCHEMA>;

/** What the CLI tells the run about the plan to write: the file, and how the header describes the command. */
export interface PlanRequest {
  file: string;
  command: PlanHeader['command'];
  commandLine: string;
  options: PlanHeader['options'];
}

/** What was written. */
export interface PlanWritten {
  file: string;
  records: number;
  totals: PlanTotals;
}

/** The path of a target, relative to v2, as the plan records it (layout.ts). */
export function targetPath(target: Pick<PlanTarget, 'kind' | 'repository' | 'digest' | 'tag'>): string {
  const name = target.repository ?? '';
  const digest = (target.digest ?? '') as Digest;
  const tag = target.tag ?? '';
  switch (target.kind) {
    case 'blob':
      return renderPath({ kind: 'blobDir', digest });
    case 'layerLink':
      return renderPath({ kind: 'layerDir', name, digest });
    case 'revision':
    case 'linklessRevision':
      return renderPath({ kind: 'revisionDir', name, digest });
    case 'tag':
      return renderPath({ kind: 'tagDir', name, tag });
    case 'tagIndexEntry':
      return renderPath({ kind: 'tagIndexDir', name, tag, digest });
  }
}

/** What every `apply` reports beside the run's result (gc and prune: gc/apply-plan.ts; tags rm: tags-rm/tags-plan.ts). */
export interface ApplyReportBase {
  file: string;
  command: PlanHeader['command'];
  planCreatedAt: string;
  /** the plan's own totals. */
  planned: PlanTotals;
  /** repositories read again: changed since the plan (each command says how it tells), or new since. */
  repositoriesReread: number;
  reread: string[];
}

/** An apply's report before anything is decided: nothing read again, nothing dropped. */
export function startApplyReport(file: string, header: PlanHeader): ApplyReportBase & { dropped: never[]; droppedCounts: never[] } {
  return {
    file,
    command: header.command,
    planCreatedAt: header.createdAt,
    planned: header.totals,
    repositoriesReread: 0,
    reread: [],
    dropped: [],
    droppedCounts: [],
  };
}

export interface PlanVisitor {
  target?: (target: PlanTarget) => void;
  repository?: (repository: PlanRepository) => void;
}

// Read a plan this many bytes at a time.
const READ_CHUNK = 1 << 20;

/**
 * Reads a plan through: the header first (refused unless of this format and
 * version), then each record to `visit`, then the end record's count and
 * checksum. A caller acts on what it gathered only once this returns.
 */
export function readPlan(fs: FileSystem, file: string, visit: PlanVisitor = {}): PlanHeader {
  const bad = refuseAs(file);
  const fd = openPlan(fs, file);
  const hash = createHash('sha256');
  let header: PlanHeader | undefined;
  let records = 0;
  let end: v.InferOutput<typeof END_SCHEMA> | undefined;
  const line = (text: string): void => {
    if (end) bad('there is more after its end record (edited?)');
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      bad(`line ${records + 1} is not JSON (truncated or edited?)`);
    }
    const type = typeof doc === 'object' && doc !== null && 'type' in doc ? doc.type : undefined;
    if (records === 0) {
      header = checkHeader(doc, bad);
    } else if (type === 'end') {
      end = checked(END_SCHEMA, doc, records, bad);
      if (end.records !== records) bad(`its end record counts ${end.records} records, the file holds ${records} (edited?)`);
      if (end.sha256 !== hash.digest('hex')) bad('its checksum does not match its records (edited or damaged?)');
      return;
    } else if (type === 'target') {
      const target = checked(TARGET_SCHEMA, doc, records, bad);
      checkTarget(target, records, bad);
      visit.target?.(target);
    } else if (type === 'repository') {
      visit.repository?.(checked(REPOSITORY_SCHEMA, doc, records, bad));
    } else {
      bad(`line ${records + 1} is not a plan record`);
    }
    hash.update(`${text}\n`);
    records++;
  };
  try {
    const buffer = Buffer.alloc(READ_CHUNK);
    let rest = Buffer.alloc(0);
    for (;;) {
      const n = fs.readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      let data = rest.length > 0 ? Buffer.concat([rest, buffer.subarray(0, n)]) : buffer.subarray(0, n);
      for (let at = data.indexOf(10); at >= 0; at = data.indexOf(10)) {
        line(data.subarray(0, at).toString('utf8'));
        data = data.subarray(at + 1);
      }
      rest = Buffer.from(data);
    }
    if (rest.length > 0) bad('its last line is cut short (truncated?)');
  } catch (cause) {
    if (cause instanceof JanitorError) throw cause;
    throw toReadError(file, cause);
  } finally {
    fs.closeSync(fd);
  }
  if (!header) return bad('it is empty');
  if (!end) return bad('it has no end record (truncated?)');
  return header;
}

/** The header alone (the first line), checked: what the CLI reads to pick the command. The rest is checked by readPlan. */
export function readPlanHeader(fs: FileSystem, file: string): PlanHeader {
  const bad = refuseAs(file);
  const fd = openPlan(fs, file);
  let text = '';
  try {
    const buffer = Buffer.alloc(64 * 1024);
    for (;;) {
      const n = fs.readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      text += buffer.subarray(0, n).toString('utf8');
      if (text.includes('\n') || text.length > 16 * 1024 * 1024) break;
    }
  } finally {
    fs.closeSync(fd);
  }
  const first = text.slice(0, Math.max(0, text.indexOf('\n')));
  if (first === '') return bad(text === '' ? 'it is empty' : 'its first line is cut short (truncated?)');
  let doc: unknown;
  try {
    doc = JSON.parse(first);
  } catch {
    return bad('its first line is not JSON (not a plan file?)');
  }
  return checkHeader(doc, bad);
}

/** The one-line refusal of a damaged plan. */
function refuseAs(file: string): (why: string) => never {
  return (why) => {
    throw new JanitorError('E_BAD_PLAN', `${file}: ${why}; nothing was deleted (make the plan again)`, { path: file });
  };
}

function openPlan(fs: FileSystem, file: string): number {
  try {
    return fs.openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (cause) {
    throw toReadError(file, cause);
  }
}

function toReadError(file: string, cause: unknown): JanitorError {
  return new JanitorError('E_BAD_PLAN', `cannot read the plan ${file}: ${errnoCode(cause) ?? String(cause)}`, { path: file, cause });
}

function checkHeader(doc: unknown, bad: (why: string) => never): PlanHeader {
  const d = (typeof doc === 'object' && doc !== null ? doc : {}) as Record<string, unknown>;
  if (d.type !== 'header' || d.format !== PLAN_FORMAT) return bad(`not a ${PLAN_FORMAT} file (no plan header on its first line)`);
  if (d.formatVersion !== PLAN_FORMAT_VERSION) {
    throw new JanitorError(
      'E_PLAN_VERSION',
      `plan format version ${JSON.stringify(d.formatVersion)} (written by registry-janitor ${JSON.stringify(d.toolVersion)}): this registry-janitor reads version ${PLAN_FORMAT_VERSION} only; make the plan again with this version; nothing was deleted`,
    );
  }
  return checked(HEADER_SCHEMA, doc, 0, bad);
}

function checked<S extends v.GenericSchema>(schema: S, doc: unknown, at: number, bad: (why: string) => never): v.InferOutput<S> {
  const result = v.safeParse(schema, doc);
  if (result.success) return result.output;
  const issue = result.issues[0];
  const where = (issue.path ?? []).map((item) => String(item.key)).join('.');
  return bad(`line ${at + 1} is malformed${where ? ` at ${where}` : ''}: ${issue.message} (edited?)`);
}

/** Each kind has the fields it needs, and the path they render to. */
function checkTarget(target: PlanTarget, at: number, bad: (why: string) => never): void {
  const needs: Record<PlanTargetKind, ('repository' | 'digest' | 'tag')[]> = {
    blob: ['digest'],
    layerLink: ['repository', 'digest'],
    revision: ['repository', 'digest'],
    linklessRevision: ['repository', 'digest'],
    tag: ['repository', 'tag'],
    tagIndexEntry: ['repository', 'tag', 'digest'],
  };
  for (const field of needs[target.kind]) if (target[field] === null) bad(`line ${at + 1}: a ${target.kind} target without its ${field}`);
  if (targetPath(target) !== target.path) bad(`line ${at + 1}: its path does not match its target (edited?)`);
}
