// gc --plan and prune --plan: the dry run's outcome written as a plan file
// (commands/plan-file.ts, written by commands/plan-writer.ts) for `apply`. Each repository read gets its
// fingerprint; one written to after the scan read it (its watch now is not
// the scan's) is recorded with the scan's watch, so apply reads it again.

import type { BlobIndex } from '../../model/blob-index.js';
import type { Digest } from '../../model/digest.js';
import { fingerprintRepository, watchOfFingerprint } from '../../scan/fingerprint-repository.js';
import type { TreeReader } from '../../storage/tree-reader.js';
import type { PlanRequest, PlanTotals, PlanWritten } from '../plan-file.js';
import { writePlan } from '../plan-writer.js';
import type { RepoOutcome } from './mark-repository.js';

export function writeGcPlan(
  reader: TreeReader,
  request: PlanRequest,
  located: { root: string; v2: string; startedMs: number },
  outcomes: readonly RepoOutcome[],
  index: BlobIndex,
  bytes: number,
): PlanWritten {
  const sum = (of: (o: RepoOutcome) => number): number => outcomes.reduce((n, o) => n + of(o), 0);
  const totals: PlanTotals = {
    repositories: outcomes.length,
    tags: sum((o) => o.tagsRemoved.length),
    tagIndexEntries: sum((o) => [...o.tagIndexEntries.values()].reduce((n, l) => n + l.length, 0)),
    manifests: sum((o) => o.manifestsDeleted.length),
    linklessRevisions: sum((o) => o.linklessRevisions.length),
    layerLinks: sum((o) => o.layerLinksDeleted.length),
    blobs: index.unmarkedCount,
    bytes,
  };
  return writePlan(reader.fs, request, located, totals, (writer) => {
    const none = { repository: null, digest: null, tag: null, pushedMs: null, size: 0 };
    for (const o of outcomes) {
      const repository = o.name;
      for (const d of o.tagsRemoved)
        writer.target({ ...none, kind: 'tag', repository, tag: d.tag, digest: d.digest ?? null, pushedMs: d.pushedMs, reason: d.reason });
      for (const [tag, digests] of o.tagIndexEntries) {
        for (const digest of digests)
          writer.target({ ...none, kind: 'tagIndexEntry', repository, tag, digest, reason: `tag ${tag} stays; its index entry names a manifest that goes` });
      }
      for (const digest of o.manifestsDeleted)
        writer.target({ ...none, kind: 'revision', repository, digest, reason: 'no kept tag reaches it, nor any manifest that stays' });
      for (const digest of o.linklessRevisions)
        writer.target({
          ...none,
          kind: 'linklessRevision',
          repository,
          digest,
          reason: 'a revision directory without its link (left by an interrupted removal)',
        });
      for (const digest of o.layerLinksDeleted) writer.target({ ...none, kind: 'layerLink', repository, digest, reason: 'its blob goes, or is missing' });
    }
    index.forEachUnmarkedShard((algorithm, prefix, hexes) => {
      const shard = reader.pathOf({ kind: 'blobShard', algorithm, prefix });
      for (const hex of hexes) {
        const digest = `${algorithm}:${hex}` as Digest;
        writer.target({ ...none, kind: 'blob', digest, size: reader.dataSize(`${shard}/${hex}/data`), reason: 'no manifest that stays references it' });
      }
    });
    for (const o of outcomes) {
      // Written to since the scan read it: recorded as read, so apply finds it changed and reads it again.
      const now = fingerprintRepository(reader, o.name);
      const fingerprint = watchOfFingerprint(now) === o.watch ? now : `${o.watch};changed-after-read`;
      writer.repository({
        name: o.name,
        fingerprint,
        tags: o.tags,
        revisions: o.revisions,
        layers: o.layers.map((l) => l.algorithm),
        keptTags: o.keptTags.map((t) => [t.tag, t.digest]),
        ...(o.revisionNames ? { everyRevisionRead: true } : {}),
      });
    }
  });
}
