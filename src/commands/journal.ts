// The journal: this tool's record of a tag removal under way, so that
// rerunning the same `prune` or `tags rm` after an interruption ends where
// the uninterrupted run ends. Without it, the tags already removed would be
// "missing" on the rerun (an explicit REPO:TAG fails), and the manifests
// only they kept would look untagged-before, which `prune` (without -m)
// keeps for good.
//
// Written (tmp + rename) after the plan and before the first deletion of a
// real run that removes tags; deleted through the deletion module once the
// sweep and its verification are done. A rerun of the same command (same
// fingerprint) treats the journal's tags as still there and removed; any
// other command leaves the journal alone and warns. Lives at
// v2/_janitor/journal.json, beside blobs/ and repositories/: the registry
// reads neither that directory nor anything else in v2.

import { type Digest, parseDigest } from '../model/digest.js';
import { JanitorError, type Warn, errnoCode, makeWarning } from '../errors.js';
import type { TagEntry } from '../model/repository.js';
import type { TagDecision } from '../select/select-tags.js';
import type { TreeReader } from '../storage/tree-reader.js';

export interface JournalTag {
  repository: string;
  tag: string;
  /** what its current link named when it was chosen; undefined: none. */
  digest: Digest | undefined;
  pushedMs: number;
}

export interface Journal {
  version: 1;
  /** what a rerun must match: the command and its selection, normalised by the CLI. */
  fingerprint: string;
  /** the command line, for the warning another command prints. */
  command: string;
  startedAt: string;
  tags: JournalTag[];
}

const VERSION = 1;

/** The journal left by an interrupted run, or undefined. A damaged one stops the run. */
export function readJournal(reader: TreeReader): Journal | undefined {
  const spec = { kind: 'journal' } as const;
  const read = reader.read(spec, { optional: true });
  if (!read) return undefined;
  const where = reader.pathOf(spec);
  const bad = (why: string): never => {
    throw new JanitorError('E_BAD_JOURNAL', `unreadable journal ${where}: ${why} (it records a tag removal that did not finish; move it away to discard it)`, {
      path: where,
    });
  };
  let doc: unknown;
  try {
    doc = JSON.parse(read.bytes.toString('utf8'));
  } catch {
    return bad('not valid JSON');
  }
  const journal = doc as Partial<Journal> | null;
  if (typeof journal !== 'object' || journal === null || journal.version !== VERSION) return bad(`not a version ${VERSION} journal`);
  if (typeof journal.fingerprint !== 'string' || typeof journal.command !== 'string' || !Array.isArray(journal.tags)) return bad('fields missing');
  const tags: JournalTag[] = journal.tags.map((t: unknown) => {
    const tag = t as Partial<Record<keyof JournalTag, unknown>> | null;
    if (typeof tag?.repository !== 'string' || typeof tag.tag !== 'string' || typeof tag.pushedMs !== 'number') return bad('a malformed tag entry');
    const digest = tag.digest === null || tag.digest === undefined ? undefined : typeof tag.digest === 'string' ? parseDigest(tag.digest) : undefined;
    if (tag.digest !== null && tag.digest !== undefined && !digest) return bad(`a malformed digest ${JSON.stringify(tag.digest)}`);
    return { repository: tag.repository, tag: tag.tag, digest, pushedMs: tag.pushedMs };
  });
  return { version: VERSION, fingerprint: journal.fingerprint, command: journal.command, startedAt: String(journal.startedAt), tags };
}

/** The journal's record of the tags a run removes. */
export function journalTagsOf(removed: Iterable<readonly TagDecision[]>): JournalTag[] {
  const tags: JournalTag[] = [];
  for (const decisions of removed) {
    for (const { repository, tag, digest, pushedMs } of decisions) tags.push({ repository, tag, digest, pushedMs });
  }
  return tags;
}

/**
 * Writes the journal atomically (a crash leaves the old one or the new
 * one). A rerun whose tags the journal already records leaves it as it is.
 */
export function writeJournal(reader: TreeReader, command: { fingerprint: string; command: string }, tags: JournalTag[], resumed: Journal | undefined): void {
  if (resumed) {
    const recorded = new Set(resumed.tags.map((t) => `${t.repository}:${t.tag}`));
    if (tags.every((t) => recorded.has(`${t.repository}:${t.tag}`))) return;
  } else {
    // Another command's unfinished removal: replacing its journal would
    // leave that command's rerun unable to finish (its named tags "missing").
    const pending = readJournal(reader);
    if (pending) {
      throw new JanitorError(
        'E_JOURNAL',
        `an interrupted \`${pending.command}\` (started ${pending.startedAt}) has not finished: rerun it first, or move ${reader.pathOf({ kind: 'journal' })} away to discard it; nothing was deleted`,
        { path: reader.pathOf({ kind: 'journal' }) },
      );
    }
  }
  const journal = { ...command, startedAt: resumed?.startedAt ?? new Date().toISOString(), tags };
  const final = reader.pathOf({ kind: 'journal' });
  // One fixed name: the lock makes this run the only writer, and a kill
  // before the rename leaves a file the next write replaces.
  const temporary = `${final}.tmp`;
  try {
    reader.fs.mkdirSync(reader.pathOf({ kind: 'janitorDir' }), { recursive: true });
    reader.fs.writeFileSync(temporary, JSON.stringify({ version: VERSION, ...journal, tags: journal.tags.map((t) => ({ ...t, digest: t.digest ?? null })) }));
    reader.fs.renameSync(temporary, final);
  } catch (cause) {
    // A full disk: created, then no block for its bytes. Never leave it half-written.
    try {
      reader.fs.unlinkSync(temporary);
    } catch {
      // not created
    }
    const code = errnoCode(cause);
    // Not kept off the tree instead (/run is gone after a reboot, the crash
    // the journal is for): refused, and `gc --free` writes none.
    const why =
      code === 'ENOSPC' || code === 'EDQUOT'
        ? 'no space or inode left on the volume; free space first with `registry-janitor gc --free SIZE -m` (it writes no journal), then rerun this command'
        : (code ?? String(cause));
    throw new JanitorError('E_JOURNAL', `cannot write the journal ${final} (nothing was deleted): ${why}`, { path: final, cause });
  }
}

/**
 * A repository's tags as the interrupted run saw them: each journal tag
 * already removed comes back with the target and push time it had, and
 * every journal tag is `forced` (removed again). A tag re-pushed since (its
 * current link names another digest now, or was rewritten: another push
 * time) is a new tag and is not forced.
 */
export function withJournalTags(tags: readonly TagEntry[], journalTags: readonly JournalTag[]): { tags: TagEntry[]; forced: Map<string, JournalTag> } {
  const forced = new Map<string, JournalTag>();
  if (journalTags.length === 0) return { tags: [...tags], forced };
  const byName = new Map(tags.map((t) => [t.tag, t]));
  const merged = [...tags];
  for (const entry of journalTags) {
    const present = byName.get(entry.tag);
    if (!present) {
      merged.push({ tag: entry.tag, current: entry.digest, pushedMs: entry.pushedMs, index: [] });
      forced.set(entry.tag, entry);
    } else if (present.current === undefined || (present.current === entry.digest && present.pushedMs === entry.pushedMs)) {
      // Half removed (current/ already gone) or not reached yet.
      if (present.current === undefined) merged[merged.indexOf(present)] = { ...present, current: entry.digest, pushedMs: entry.pushedMs };
      forced.set(entry.tag, entry);
    }
  }
  merged.sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
  return { tags: merged, forced };
}

/** Every forced tag is removed, whatever the rules decide now. */
export function forceJournalDecisions(repository: string, decisions: TagDecision[], forced: ReadonlyMap<string, JournalTag>): void {
  const reason = 'removed by the interrupted run this one finishes (journal)';
  for (const [tag, entry] of forced) {
    const decision = decisions.find((d) => d.tag === tag);
    if (!decision) decisions.push({ repository, tag, digest: entry.digest, pushedMs: entry.pushedMs, remove: true, reason });
    else if (!decision.remove) Object.assign(decision, { remove: true, reason });
  }
}

/**
 * The last step of a run that removed tags, after its lock is released: a
 * kill before it leaves a journal that a rerun finishes; removing the
 * journal before the lock would leave a window in which the rerun of
 * `prune app:v1` finds app:v1 missing and fails. Removed only while it is
 * still this command's (another run may have taken the tree meanwhile).
 */
export function removeJournalIfOurs(reader: TreeReader, fingerprint: string | undefined, remove: () => void): void {
  const journal = readJournal(reader);
  if (journal && journal.fingerprint === fingerprint) remove();
}

/**
 * The journal of an interrupted run: returned when this command (same
 * fingerprint) is the one to finish it; another command is told how to.
 */
export function resumeJournal(reader: TreeReader, fingerprint: string | undefined, warn: Warn): Journal | undefined {
  const journal = readJournal(reader);
  if (!journal) return undefined;
  if (journal.fingerprint === fingerprint) return journal;
  const path = reader.pathOf({ kind: 'journal' });
  warn(
    makeWarning(
      'W_JOURNAL_PENDING',
      `${path}: an interrupted \`${journal.command}\` (started ${journal.startedAt}) has not finished; rerun that command to finish it`,
      { path },
    ),
  );
  return undefined;
}
