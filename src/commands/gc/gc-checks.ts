// gc's checks and bookkeeping around the pipeline in index.ts: what changed
// since it was read, half a registry, the kept tags after the sweep (signs
// of a live registry, uploads, are counted by plan-housekeeping.ts).

import { JanitorError } from '../../errors.js';
import type { Digest } from '../../model/digest.js';
import { findRepositories } from '../../scan/find-repositories.js';
import { type LinkGroup, linkGroupOf } from '../../scan/prefetch.js';
import { watchRepository } from '../../scan/scan-repository.js';
import type { TreeReader } from '../../storage/tree-reader.js';
import type { JournalTag } from '../journal.js';
import type { RepoOutcome } from './mark-repository.js';

/**
 * Repositories whose watch (scan-repository.ts) differs from when they were
 * read, and repositories that did not exist then. Skipped repositories are
 * not compared: `remark` marks what they link now.
 */
export function findChangedRepositories(
  reader: TreeReader,
  outcomes: readonly RepoOutcome[],
  skip: (name: string) => boolean,
  remark: (name: string) => void,
): string[] {
  const read = new Map(outcomes.map((o) => [o.name, o.watch]));
  const changed: string[] = [];
  for (const name of findRepositories(reader, () => {}, skip)) {
    if (skip(name)) remark(name);
    else if (read.get(name) !== watchRepository(reader, name)) changed.push(name);
  }
  return changed;
}

/**
 * Where `name`'s outcome is: a binary search, as index.ts keeps the
 * outcomes sorted by name once the mark ends, and the recheck looks up
 * every repository the sweep changed (all 14,000 of the many-small 1M tree
 * under -m, where a scan each made ~10^8 comparisons); a linear scan when
 * that misses, so an unsorted list is still answered right.
 */
function indexOfOutcome(outcomes: readonly RepoOutcome[], name: string): number {
  let low = 0;
  let high = outcomes.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const at = (outcomes[middle] as RepoOutcome).name;
    if (at === name) return middle;
    if (at < name) low = middle + 1;
    else high = middle - 1;
  }
  return outcomes.findIndex((o) => o.name === name);
}

export function findOutcome(outcomes: readonly RepoOutcome[], name: string): RepoOutcome | undefined {
  return outcomes[indexOfOutcome(outcomes, name)];
}

export function replaceOutcome(outcomes: RepoOutcome[], outcome: RepoOutcome): void {
  const at = indexOfOutcome(outcomes, outcome.name);
  if (at >= 0) outcomes[at] = outcome;
  else outcomes.push(outcome);
}

export function groupByRepository(tags: readonly JournalTag[]): Map<string, JournalTag[]> {
  const byRepository = new Map<string, JournalTag[]>();
  for (const tag of tags) {
    const list = byRepository.get(tag.repository);
    if (list) list.push(tag);
    else byRepository.set(tag.repository, [tag]);
  }
  return byRepository;
}

/**
 * Blobs with no repository, or repositories with no blob (the directory
 * missing, or empty: the mount point of a volume that did not mount looks
 * just like that), is half a registry, not one with nothing
 * left to keep: a sweep would delete every blob, or every layer link.
 * Refuse, as the reference does for a missing directory (issue 3058). A
 * registry truly emptied of repositories is cleared by deleting blobs/.
 */
export function assertHalvesPresent(reader: TreeReader, blobs: number, repositories: number): void {
  if (blobs > 0 && repositories === 0) {
    const where = reader.pathOf({ kind: 'repositoriesRoot' });
    throw new JanitorError(
      'E_NOT_REGISTRY',
      `${where} holds no repository, but blobs/ holds ${blobs} blobs: refusing to delete every blob (is a volume not mounted? if the registry really is empty, delete blobs/ yourself)`,
      { path: where },
    );
  }
  if (repositories > 0 && blobs === 0) {
    const where = reader.pathOf({ kind: 'blobsRoot' });
    throw new JanitorError(
      'E_NOT_REGISTRY',
      `${where} holds no blob, but there are ${repositories} repositories: refusing to delete every layer link (is a volume not mounted?)`,
      { path: where },
    );
  }
}

/** What verifyKeptTags reads, for apply's prefetcher: each repository's kept sha256 revisions (their link, then their manifest's data). */
export function* keptLinkGroupsOf(outcomes: readonly RepoOutcome[]): Generator<LinkGroup> {
  for (const { name, keptTags } of outcomes) {
    const group = linkGroupOf(
      name,
      'revisionLink',
      keptTags.map((t) => t.digest),
    );
    if (group) yield group;
  }
}

/**
 * Phase 7: every kept tag still has its revision link (read: it names the
 * digest) and its manifest blob's data (lstat'ed: the sweep only ever
 * removes a blob whole, and on a cold 1M-blob tree reading 140k manifests
 * again was one random read each). A digest that several tags of a
 * repository name is checked once.
 */
export function verifyKeptTags(reader: TreeReader, outcomes: readonly RepoOutcome[]): void {
  for (const { name, keptTags } of outcomes) {
    const checked = new Set<Digest>();
    for (const { tag, digest } of keptTags) {
      if (checked.has(digest)) continue;
      checked.add(digest);
      reader.readLink({ kind: 'revisionLink', name, digest }, digest);
      if (reader.mtimeOf({ kind: 'blobData', digest }) === undefined) {
        throw new JanitorError('E_UNREADABLE', `verify failed: ${name}:${tag} lost its manifest blob ${digest}`);
      }
    }
  }
}
