// Reads one repository's metadata: revisions (with their manifests parsed),
// tags (current target, push time, index history) and layer links. Pure
// function of the tree: runs in-process or in a scan worker alike, and its
// result is plain data (structured-clone safe).

import { type Algorithm, type Digest, isAlgorithm, makeDigest, splitDigest } from '../model/digest.js';
import type { DirEntry } from '../storage/file-system.js';
import { type PathSpec, TAG_CURRENT, TAG_INDEX } from '../storage/layout.js';
import { isTagName } from '../storage/repository-names.js';
import { parseManifest } from '../model/manifest.js';
import type { RepoScan, TagEntry } from '../model/repository.js';
import { JanitorError, type Warning, makeWarning } from '../errors.js';
import { type TreeReader, retryUnsettled } from '../storage/tree-reader.js';

/**
 * Lists `<container>/<alg>/<hex>` digest directories. Unknown entries are
 * errors: they would be paths the mark phase cannot account for.
 */
function listDigestDirs(algorithms: DirEntry[] | undefined, containerPath: string, listAlgorithm: (algorithm: Algorithm) => DirEntry[] | undefined): Digest[] {
  const digests: Digest[] = [];
  for (const algEntry of algorithms ?? []) {
    const algorithm = algEntry.name;
    if (!algEntry.isDirectory() || !isAlgorithm(algorithm)) throw stray(`${containerPath}/${algorithm}`);
    for (const entry of listAlgorithm(algorithm) ?? []) {
      const digest = entry.isDirectory() ? makeDigest(algorithm, entry.name) : undefined;
      if (!digest) throw stray(`${containerPath}/${algorithm}/${entry.name}`);
      digests.push(digest);
    }
  }
  return digests;
}

function stray(where: string): JanitorError {
  return new JanitorError('E_STRAY', `unexpected entry in the registry tree: ${where}`, { path: where });
}

/**
 * `freshAfterMs`: links written after this instant are fresh (the grace
 * window); their mtimes are read only where the revisions directory itself
 * changed after it, so a quiet tree costs no extra stat.
 */
export function scanRepository(reader: TreeReader, name: string, freshAfterMs = Number.POSITIVE_INFINITY): RepoScan {
  const warnings: Warning[] = [];
  const scan: RepoScan = { name, revisions: [], linklessRevisions: [], tags: [], warnings, watch: watchRepository(reader, name) };

  // Tags first: scanTags lists _manifests/, which refuses a symlinked
  // revisions/ or tags/ before either is entered.
  scan.tags = scanTags(reader, name, warnings);
  // Every "optional" below: a repository may lack any of these directories
  // (a repository with only pushed layers, or one whose tags were all removed).
  const revisionDigests = listDigestDirs(
    reader.list({ kind: 'revisionsRoot', name }, { optional: true }),
    reader.pathOf({ kind: 'revisionsRoot', name }),
    (algorithm) => reader.list({ kind: 'revisionsAlgorithm', name, algorithm }),
  );
  const freshAlgorithms = new Set(
    [...new Set(revisionDigests.map((d) => splitDigest(d).algorithm))].filter(
      (algorithm) => (reader.mtimeOf({ kind: 'revisionsAlgorithm', name, algorithm }) ?? 0) > freshAfterMs,
    ),
  );
  for (const digest of revisionDigests) {
    const fresh = freshAlgorithms.has(splitDigest(digest).algorithm);
    // A revision directory without its link is what a crash between the two
    // steps of a revision removal leaves: the registry ignores it, and the
    // sweep removes it, as the interrupted run would have, whatever its age
    // (it holds nothing; a 2.8.2 push makes the directory and writes the
    // link microseconds apart, and removing it between fails that push
    // loudly, never silently).
    const linkSpec = { kind: 'revisionLink', name, digest } as const;
    const read = reader.readSettledLink(linkSpec, digest, { optional: true, mtime: fresh });
    if (!read) {
      scan.linklessRevisions.push(digest);
      continue;
    }
    const isFresh = fresh && read.mtimeMs > freshAfterMs;
    // A revision whose blob data is gone is skipped silently by the reference.
    // A manifest pushed again is rewritten in place by 2.8.2, like a link:
    // one that does not parse is read again before it counts as damaged.
    const blob = retryUnsettled(() => {
      const data = reader.read({ kind: 'blobData', digest }, { optional: true });
      return data && { manifest: parseManifest(data.bytes, reader.pathOf({ kind: 'blobData', digest })), size: data.bytes.length };
    }, 'E_BAD_MANIFEST');
    if (!blob) {
      warnings.push(
        makeWarning('W_REVISION_WITHOUT_DATA', `${name}: revision ${digest} has no blob data; skipped, as the reference does`, { repository: name }),
      );
      scan.revisions.push({ digest, manifest: undefined, size: 0 });
      continue;
    }
    scan.revisions.push(isFresh ? { digest, ...blob, fresh: true } : { digest, ...blob });
  }

  return scan;
}

/**
 * The state a repository's decision rests on, as one comparable string:
 * the mtimes of _manifests, revisions/ and each revisions/<alg>, tags/ and
 * each tag's current link, _layers and each _layers/<alg> (-1: absent). A
 * push adds a directory under revisions/<alg> or _layers/<alg> (which
 * bumps its mtime) and rewrites a current link; so a repository whose
 * watch is unchanged has not been written to since it was taken. Taken
 * before the scan reads anything, and again just before the sweep.
 */
export function watchRepository(reader: TreeReader, name: string): string {
  const parts: number[] = [];
  const stamp = (spec: PathSpec): boolean => {
    const mtime = reader.mtimeOf(spec);
    parts.push(mtime ?? -1);
    return mtime !== undefined;
  };
  stamp({ kind: 'manifestsRoot', name });
  if (stamp({ kind: 'revisionsRoot', name })) {
    for (const entry of reader.list({ kind: 'revisionsRoot', name }) ?? []) {
      if (isAlgorithm(entry.name)) stamp({ kind: 'revisionsAlgorithm', name, algorithm: entry.name });
    }
  }
  if (stamp({ kind: 'tagsRoot', name })) {
    for (const entry of reader.list({ kind: 'tagsRoot', name }) ?? []) {
      if (isTagName(entry.name)) stamp({ kind: 'tagCurrentLink', name, tag: entry.name });
    }
  }
  if (stamp({ kind: 'layersRoot', name })) {
    for (const entry of reader.list({ kind: 'layersRoot', name }) ?? []) {
      if (isAlgorithm(entry.name)) stamp({ kind: 'layersAlgorithm', name, algorithm: entry.name });
    }
  }
  return parts.join(',');
}

/**
 * A repository's tags: current target, push time (mtime of current/link)
 * and index history, sorted by name. Used alone by `tags rm`, which needs
 * no manifests.
 */
export function scanTags(reader: TreeReader, name: string, warnings: Warning[]): TagEntry[] {
  const tags: TagEntry[] = [];
  // A repository with only pushed layers has no _manifests/. Listing it
  // refuses a symlinked revisions/ or tags/ in it.
  reader.list({ kind: 'manifestsRoot', name }, { optional: true });
  const tagsPath = reader.pathOf({ kind: 'tagsRoot', name });
  for (const tagEntry of reader.list({ kind: 'tagsRoot', name }, { optional: true }) ?? []) {
    const tag = tagEntry.name;
    if (!tagEntry.isDirectory() || !isTagName(tag)) {
      const where = `${tagsPath}/${tag}`;
      throw new JanitorError('E_BAD_NAME', `invalid tag ${JSON.stringify(tag)} at ${where}`, { path: where });
    }
    const children = reader.list({ kind: 'tagDir', name, tag }) ?? [];
    const entry: TagEntry = { tag, current: undefined, pushedMs: 0, index: [] };
    if (children.some((c) => c.name === TAG_CURRENT)) {
      // current/ without its link: left by an interrupted push; reported below.
      const read = reader.readSettledLink({ kind: 'tagCurrentLink', name, tag }, undefined, { optional: true, mtime: true });
      if (read) {
        entry.current = read.digest;
        entry.pushedMs = read.mtimeMs;
      }
    }
    if (!entry.current)
      warnings.push(makeWarning('W_TAG_WITHOUT_CURRENT', `${name}: tag ${tag} has no current link; it does not resolve`, { repository: name }));
    if (children.some((c) => c.name === TAG_INDEX)) {
      entry.index = listDigestDirs(reader.list({ kind: 'tagIndexRoot', name, tag }), reader.pathOf({ kind: 'tagIndexRoot', name, tag }), (algorithm) =>
        reader.list({ kind: 'tagIndexAlgorithm', name, tag, algorithm }),
      );
    }
    tags.push(entry);
  }

  return tags.sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
}

/**
 * The digests a repository has layer links for. Listed on demand (after the
 * mark phase) rather than held from the scan: a 1M-blob tree has over a
 * million of them, ~100 MB as strings.
 */
export function listLayerLinks(reader: TreeReader, name: string): Digest[] {
  // A repository that never had a blob pushed to it has no _layers/.
  return listDigestDirs(reader.list({ kind: 'layersRoot', name }, { optional: true }), reader.pathOf({ kind: 'layersRoot', name }), (algorithm) =>
    reader.list({ kind: 'layersAlgorithm', name, algorithm }),
  );
}

/**
 * Every digest a repository could serve: its revision directories (the
 * manifests) and layer link directories (every other blob). The registry
 * serves a repository's blobs only through these links, so marking them
 * keeps all it could ever pull, with nothing parsed: what --skip-repo does
 * for a repository whose links or manifests cannot be read.
 */
export function listServableDigests(reader: TreeReader, name: string): Digest[] {
  return [
    ...listDigestDirs(reader.list({ kind: 'revisionsRoot', name }, { optional: true }), reader.pathOf({ kind: 'revisionsRoot', name }), (algorithm) =>
      reader.list({ kind: 'revisionsAlgorithm', name, algorithm }),
    ),
    ...listLayerLinks(reader, name),
  ];
}
