// What the mark phase sees on the way that `verify` would report: tags that
// do not pull. gc reads every revision and tag of a repository anyway, so a
// tag whose revision link or manifest blob is missing, or that needs a
// child manifest or a blob (config, layer) that is missing, becomes a typed
// warning, and nothing more: gc never fails on it, and what the tag still
// reaches is kept as before. (verify checks more: layer links, contents.)
//
//   W_DANGLING_TAG       the tag's own manifest: no revision link in the
//                        repository (verify: missing-revision), or no blob
//                        data (missing-blob)
//   W_TAG_NEEDS_MISSING  below it: a child manifest of an index with no
//                        revision link or no blob data, a config or layer
//                        blob missing from blobs/

import { type Warning, makeWarning } from '../../errors.js';
import type { Digest } from '../../model/digest.js';
import type { RepoScan, Revision, TagEntry } from '../../model/repository.js';

interface Missing {
  kind: 'missing-revision' | 'missing-blob';
  digest: Digest;
  /** what it is to the tag: its manifest, a child manifest, a blob. */
  role: 'manifest' | 'child manifest' | 'blob';
}

/**
 * The tags among `tags` that do not pull, and one warning per missing
 * thing naming every tag it breaks. `blobExists`: whether a config or layer
 * blob is on disk (undefined: not checked).
 */
export function findDanglingTags(
  scan: RepoScan,
  tags: readonly TagEntry[],
  blobExists: ((digest: Digest) => boolean) | undefined,
): { tags: string[]; warnings: Warning[] } {
  const revisions = new Map<Digest, Revision>(scan.revisions.map((r) => [r.digest, r]));
  const memo = new Map<Digest, Missing[]>();
  /** What a readable manifest needs below it that is missing (memoised: a DAG shared by many tags). */
  const below = (revision: Revision, seen: Set<Digest>): Missing[] => {
    const known = memo.get(revision.digest);
    if (known) return known;
    const found: Missing[] = [];
    seen.add(revision.digest);
    for (const child of revision.manifest?.children ?? []) {
      const childRevision = revisions.get(child);
      if (!childRevision) found.push({ kind: 'missing-revision', digest: child, role: 'child manifest' });
      else if (!childRevision.manifest) found.push({ kind: 'missing-blob', digest: child, role: 'child manifest' });
      else if (!seen.has(child)) found.push(...below(childRevision, seen));
    }
    if (blobExists) for (const blob of revision.manifest?.blobs ?? []) if (!blobExists(blob)) found.push({ kind: 'missing-blob', digest: blob, role: 'blob' });
    memo.set(revision.digest, found);
    return found;
  };
  const broken = new Map<string, { missing: Missing; tags: string[] }>();
  for (const tag of tags) {
    if (!tag.current) continue; // no current link: the scan warned (W_TAG_WITHOUT_CURRENT)
    const revision = revisions.get(tag.current);
    const missing: Missing[] = !revision
      ? [{ kind: 'missing-revision', digest: tag.current, role: 'manifest' }]
      : !revision.manifest
        ? [{ kind: 'missing-blob', digest: tag.current, role: 'manifest' }]
        : below(revision, new Set());
    for (const m of missing) {
      const key = `${m.kind} ${m.digest}`;
      const entry = broken.get(key) ?? { missing: m, tags: [] };
      entry.tags.push(tag.tag);
      broken.set(key, entry);
    }
  }
  const tagsBroken = new Set<string>();
  const warnings: Warning[] = [];
  for (const { missing, tags: names } of broken.values()) {
    for (const name of names) tagsBroken.add(name);
    const shown = `${names.slice(0, 5).join(', ')}${names.length > 5 ? ` and ${names.length - 5} more` : ''}`;
    const what =
      missing.kind === 'missing-revision'
        ? `${missing.role} ${missing.digest} has no revision link in ${scan.name}`
        : `${missing.role} ${missing.digest} has no blob data`;
    const code = missing.role === 'manifest' ? 'W_DANGLING_TAG' : 'W_TAG_NEEDS_MISSING';
    const verb = names.length === 1 ? `tag ${shown} does not pull` : `tags ${shown} do not pull`;
    warnings.push(makeWarning(code, `${scan.name}: ${what} (${missing.kind}): ${verb}`, { repository: scan.name }));
  }
  return { tags: [...tagsBroken].sort(), warnings };
}
