// The mark phase for one repository: apply the tag selection (prune), choose
// the kept revisions, mark them, and record what the repository loses.
// Only compact records outlive the RepoScan.

import type { BlobIndex } from '../blob-index.js';
import type { Digest } from '../digest.js';
import { DigestList } from '../digest-list.js';
import { type TagDecision, type TagSelector, allTagsRemovedWarning } from '../select/select-tags.js';
import type { RepoScan } from '../storage/scan-repository.js';
import { markRevision, selectKept } from './keep-rules.js';

export interface RepoOutcome {
  name: string;
  tags: number;
  revisions: number;
  /** tag directories removed (prune), with the decision behind each. */
  tagsRemoved: TagDecision[];
  /** candidates a keep rule protected (prune), with the reason. */
  tagsKept: TagDecision[];
  manifestsDeleted: DigestList;
  /** tags/<tag>/index/<digest> entries of deleted manifests, by remaining tag. */
  tagIndexEntries: Map<string, DigestList>;
  layerLinksDeleted: DigestList;
  /** tags that stay, with their target: what the verify phase checks. */
  keptTags: { tag: string; digest: Digest }[];
}

export function markRepository(
  scan: RepoScan,
  options: { deleteUntagged: boolean; selector?: TagSelector | undefined },
  index: BlobIndex,
  warn: (message: string) => void,
): RepoOutcome {
  for (const warning of scan.warnings) warn(warning);
  const decisions = options.selector?.decide(scan.name, scan.tags) ?? [];
  const removedTags = new Set(decisions.filter((d) => d.remove).map((d) => d.tag));
  const loud = allTagsRemovedWarning(scan.name, removedTags.size, scan.tags.length);
  if (loud) warn(loud);
  const kept = selectKept(scan, { deleteUntagged: options.deleteUntagged, removedTags });
  const outcome: RepoOutcome = {
    name: scan.name,
    tags: scan.tags.length,
    revisions: scan.revisions.length,
    tagsRemoved: decisions.filter((d) => d.remove),
    tagsKept: decisions.filter((d) => !d.remove),
    manifestsDeleted: new DigestList(),
    tagIndexEntries: new Map(),
    layerLinksDeleted: new DigestList(),
    keptTags: [],
  };
  const remainingTags = scan.tags.filter((t) => !removedTags.has(t.tag));
  const indexed = new Map<Digest, string[]>();
  for (const tag of remainingTags) {
    for (const digest of tag.index) {
      const list = indexed.get(digest);
      if (list) list.push(tag.tag);
      else indexed.set(digest, [tag.tag]);
    }
  }
  for (const revision of scan.revisions) {
    if (kept.has(revision.digest)) {
      markRevision(index, revision);
      continue;
    }
    // A revision whose manifest is missing is neither kept nor deleted: the
    // reference never enumerates it.
    if (!revision.manifest) continue;
    outcome.manifestsDeleted.push(revision.digest);
    for (const tag of indexed.get(revision.digest) ?? []) {
      let list = outcome.tagIndexEntries.get(tag);
      if (!list) outcome.tagIndexEntries.set(tag, (list = new DigestList()));
      list.push(revision.digest);
    }
  }
  for (const tag of remainingTags) {
    if (tag.current && kept.has(tag.current)) outcome.keptTags.push({ tag: tag.tag, digest: tag.current });
    else if (tag.current) warn(`${scan.name}: tag ${tag.tag} names ${tag.current}, which has no readable revision in this repository`);
  }
  return outcome;
}
