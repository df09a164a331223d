// Reads one repository's metadata: revisions (with their manifests parsed),
// tags (current target, push time, index history) and layer links. Pure
// function of the tree: runs in-process or in a scan worker alike, and its
// result is plain data (structured-clone safe).

import { type Algorithm, type Digest, isAlgorithm, isHexFor, makeDigest, splitDigest } from '../model/digest.js';
import type { DirEntry } from '../storage/file-system.js';
import { DigestList } from '../model/digest-list.js';
import { isTagName } from '../storage/repository-names.js';
import { parseManifest } from '../model/manifest.js';
import type { LayerDirectory, RepoScan, TagEntry } from '../model/repository.js';
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
    pushDigestDirs(digests, algorithm, listAlgorithm(algorithm), `${containerPath}/${algorithm}`);
  }
  return digests;
}

/** The `<hex>` directories of one `<alg>` directory (`algorithmPath`) as digests; anything else is stray. */
function pushDigestDirs(digests: Digest[], algorithm: Algorithm, entries: DirEntry[] | undefined, algorithmPath: string): void {
  visitDigestDirs(algorithm, entries, algorithmPath, (hex) => digests.push(`${algorithm}:${hex}` as Digest));
}

/** The hex name of each `<hex>` directory of one `<alg>` directory (`algorithmPath`), to `visit`; anything else is stray. */
function visitDigestDirs(algorithm: Algorithm, entries: DirEntry[] | undefined, algorithmPath: string, visit: (hex: string) => void): void {
  for (const entry of entries ?? []) {
    if (!entry.isDirectory() || !isHexFor(algorithm, entry.name)) throw stray(`${algorithmPath}/${entry.name}`);
    visit(entry.name);
  }
}

function stray(where: string): JanitorError {
  return new JanitorError('E_STRAY', `unexpected entry in the registry tree: ${where}`, { path: where });
}

export interface ScanOptions {
  /**
   * List each tag's index/ (every digest the tag has pointed at): needed
   * only where manifests can be deleted (gc -m, prune), to delete their
   * index entries. Default true.
   */
  tagIndex?: boolean;
}

/**
 * Reads one repository, taking its watch (watchRepository) as it goes: each
 * directory is lstat'ed just before it is listed, each tag's current link
 * fstat'ed just before it is read, so every read is covered by a stamp
 * taken before it, with no second pass over the same directories.
 *
 * `freshAfterMs`: links written after this instant are fresh (the grace
 * window); their mtimes are read only where the revisions directory itself
 * changed after it, so a quiet tree costs no extra stat.
 */
export function scanRepository(reader: TreeReader, name: string, freshAfterMs = Number.POSITIVE_INFINITY, options: ScanOptions = {}): RepoScan {
  const warnings: Warning[] = [];
  const watch: number[] = [];
  const scan: RepoScan = { name, revisions: [], linklessRevisions: [], tags: [], warnings, watch: '', layers: [] };

  // 1. revisions/ and each revisions/<alg>: stamped, then listed. Every
  // "optional" below: a repository may lack any of these directories (a
  // repository with only pushed layers, or one whose tags were all removed).
  const revisionsMtime = reader.directoryMtime({ kind: 'revisionsRoot', name });
  watch.push(revisionsMtime ?? -1);
  const freshAlgorithms = new Set<Algorithm>();
  const revisionDigests =
    revisionsMtime === undefined
      ? []
      : listDigestDirs(reader.list({ kind: 'revisionsRoot', name }, { optional: true }), reader.pathOf({ kind: 'revisionsRoot', name }), (algorithm) => {
          const mtime = reader.directoryMtime({ kind: 'revisionsAlgorithm', name, algorithm });
          watch.push(mtime ?? -1);
          if ((mtime ?? 0) > freshAfterMs) freshAlgorithms.add(algorithm);
          return reader.list({ kind: 'revisionsAlgorithm', name, algorithm });
        });
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

  // 2. tags/ and each tag's current link, 3. _layers/ and each _layers/<alg>.
  scan.tags = readTags(reader, name, warnings, options.tagIndex ?? true, watch);
  scan.layers = stampLayers(reader, name, watch, freshAfterMs);
  scan.watch = watch.join(',');
  return scan;
}

/**
 * The state a repository's decision rests on, as one comparable string:
 * the mtimes of revisions/ and each revisions/<alg>, tags/ and each tag's
 * current link, _layers and each _layers/<alg> (-1: absent). A push adds a
 * directory under revisions/<alg> or _layers/<alg> (which bumps its mtime)
 * and rewrites a current link; so a repository whose watch is unchanged
 * has not been written to since it was taken. scanRepository takes it as
 * it reads, each stamp just before what it covers; this takes it again,
 * just before the sweep, in the same order.
 */
export function watchRepository(reader: TreeReader, name: string): string {
  const watch: number[] = [];
  const revisions = reader.directoryMtime({ kind: 'revisionsRoot', name });
  watch.push(revisions ?? -1);
  if (revisions !== undefined) {
    for (const entry of reader.list({ kind: 'revisionsRoot', name }, { optional: true }) ?? []) {
      if (isAlgorithm(entry.name)) watch.push(reader.mtimeOf({ kind: 'revisionsAlgorithm', name, algorithm: entry.name }) ?? -1);
    }
  }
  stampTagsAndLayers(reader, name, watch);
  return watch.join(',');
}

/**
 * The watch's stamps after the revisions: tags/ and each tag's current
 * link, then _layers/ and each _layers/<alg>. With `revisions`, each
 * current link is read, not only stamped, and must name one of them
 * (false otherwise): a tag moved within one tick of its stamp's clock
 * (1-10 ms here, a second on some filesystems) leaves its stamp as it was.
 */
function stampTagsAndLayers(reader: TreeReader, name: string, watch: number[], revisions?: ReadonlySet<Digest>): boolean {
  const tags = reader.directoryMtime({ kind: 'tagsRoot', name });
  watch.push(tags ?? -1);
  for (const entry of tags === undefined ? [] : (reader.list({ kind: 'tagsRoot', name }, { optional: true }) ?? [])) {
    const tag = entry.name;
    if (!isTagName(tag)) continue;
    if (!revisions) {
      watch.push(reader.mtimeOf({ kind: 'tagCurrentLink', name, tag }) ?? -1);
      continue;
    }
    const read =
      reader.directoryMtime({ kind: 'tagCurrentDir', name, tag }) === undefined
        ? undefined
        : reader.readSettledLink({ kind: 'tagCurrentLink', name, tag }, undefined, { optional: true, mtime: true });
    if (read && !revisions.has(read.digest)) return false;
    watch.push(read?.mtimeMs ?? -1);
  }
  stampLayers(reader, name, watch);
  return true;
}

/**
 * The sweep's recheck of a repository it moved revisions out of
 * (sweep-aside.ts): whether the repository is exactly as the sweep left
 * it. Its revisions/<alg> directories changed (the sweep's own moves
 * bumped their mtimes), so instead of their stamps their entries are
 * compared: they must be `expected` (what the decision was made on, less
 * what the sweep took out), no more and no fewer; each tag must name one
 * of them; every other stamp (revisions/, tags/ and each current link,
 * _layers/ and each _layers/<alg>) must be as `before` has it. Returns the
 * watch now (each revisions/<alg> stamped before it is listed, as
 * scanRepository does), or undefined: something else changed, and the
 * repository is read again. A name compared is exact where an mtime has a
 * filesystem's granularity; it costs one listing per revisions/<alg> and
 * a read per tag link, where reading the repository again reads every
 * revision link and manifest (3.9 s of a 24 s apply --trash window on the
 * many-small 100k tree, 1,400 repositories; 0.9 s this way).
 */
export function watchAsSweptLeftIt(reader: TreeReader, name: string, before: string, expected: ReadonlySet<Digest>): string | undefined {
  const revisions = reader.directoryMtime({ kind: 'revisionsRoot', name });
  if (revisions === undefined) return undefined;
  const watch = [revisions];
  const listed = listRevisionDirs(reader, name, (algorithm) => watch.push(reader.mtimeOf({ kind: 'revisionsAlgorithm', name, algorithm }) ?? -1));
  if (!listed || listed.length !== expected.size) return undefined;
  for (const digest of listed) if (!expected.has(digest)) return undefined;
  const algorithms = watch.length - 1;
  if (!stampTagsAndLayers(reader, name, watch, expected)) return undefined;
  const was = before.split(',');
  if (was.length !== watch.length || was[0] !== String(watch[0])) return undefined;
  for (let i = 1 + algorithms; i < watch.length; i++) if (was[i] !== String(watch[i])) return undefined;
  return watch.join(',');
}

/**
 * The revision directories of a repository (revisions/<alg>/<hex>);
 * undefined when anything else is there (scanRepository refuses it: the
 * recheck reads the repository again, and says so). `beforeListing` runs
 * before each revisions/<alg> is listed (a stamp, watchAsSweptLeftIt).
 * For the sweep's recheck: RepoOutcome.revisionNames in an apply, and the
 * comparison itself.
 */
export function listRevisionDirs(reader: TreeReader, name: string, beforeListing?: (algorithm: Algorithm) => void): DigestList | undefined {
  const names = new DigestList();
  for (const entry of reader.list({ kind: 'revisionsRoot', name }, { optional: true }) ?? []) {
    const algorithm = entry.name;
    if (!entry.isDirectory() || !isAlgorithm(algorithm)) return undefined;
    beforeListing?.(algorithm);
    for (const revision of reader.list({ kind: 'revisionsAlgorithm', name, algorithm }, { optional: true }) ?? []) {
      const digest = revision.isDirectory() ? makeDigest(algorithm, revision.name) : undefined;
      if (digest === undefined) return undefined;
      names.push(digest);
    }
  }
  return names;
}

/**
 * _layers/ and each _layers/<alg>, stamped; returned with whether each
 * changed after `freshAfterMs` (their links are listed by the plan,
 * listLayerLinks, which then needs no listing of _layers/ itself).
 */
function stampLayers(reader: TreeReader, name: string, watch: number[], freshAfterMs = Number.POSITIVE_INFINITY): LayerDirectory[] {
  const directories: LayerDirectory[] = [];
  const layers = reader.directoryMtime({ kind: 'layersRoot', name });
  watch.push(layers ?? -1);
  if (layers === undefined) return directories;
  for (const entry of reader.list({ kind: 'layersRoot', name }, { optional: true }) ?? []) {
    const algorithm = entry.name;
    if (!isAlgorithm(algorithm)) continue;
    const mtime = reader.mtimeOf({ kind: 'layersAlgorithm', name, algorithm });
    watch.push(mtime ?? -1);
    if (mtime !== undefined) directories.push({ algorithm, fresh: mtime > freshAfterMs });
  }
  return directories;
}

/**
 * A repository's tags: current target, push time (mtime of current/link)
 * and index history, sorted by name. Used alone by `tags rm`, which needs
 * no manifests and no index.
 */
export function scanTags(reader: TreeReader, name: string, warnings: Warning[], options: ScanOptions = {}): TagEntry[] {
  return readTags(reader, name, warnings, options.tagIndex ?? true, []);
}

/**
 * Per tag, only what a decision needs: an lstat of current/ (a symlinked
 * one is refused: the kernel would follow it to the link), the link read
 * with its mtime (the tag's push time and its stamp in the watch), and,
 * where manifests can be deleted, its index/. The tag directory itself is
 * not listed: nothing in it but current/ and index/ is ever read.
 */
function readTags(reader: TreeReader, name: string, warnings: Warning[], withIndex: boolean, watch: number[]): TagEntry[] {
  const tags: TagEntry[] = [];
  const tagsMtime = reader.directoryMtime({ kind: 'tagsRoot', name });
  watch.push(tagsMtime ?? -1);
  if (tagsMtime === undefined) return tags;
  const tagsPath = reader.pathOf({ kind: 'tagsRoot', name });
  for (const tagEntry of reader.list({ kind: 'tagsRoot', name }, { optional: true }) ?? []) {
    const tag = tagEntry.name;
    if (!tagEntry.isDirectory() || !isTagName(tag)) {
      const where = `${tagsPath}/${tag}`;
      throw new JanitorError('E_BAD_NAME', `invalid tag ${JSON.stringify(tag)} at ${where}`, { path: where });
    }
    const entry: TagEntry = { tag, current: undefined, pushedMs: 0, index: [] };
    // current/ without its link: left by an interrupted push; reported below.
    const read =
      reader.directoryMtime({ kind: 'tagCurrentDir', name, tag }) === undefined
        ? undefined
        : reader.readSettledLink({ kind: 'tagCurrentLink', name, tag }, undefined, { optional: true, mtime: true });
    watch.push(read?.mtimeMs ?? -1);
    if (read) {
      entry.current = read.digest;
      entry.pushedMs = read.mtimeMs;
    } else {
      warnings.push(makeWarning('W_TAG_WITHOUT_CURRENT', `${name}: tag ${tag} has no current link; it does not resolve`, { repository: name }));
    }
    if (withIndex && reader.directoryMtime({ kind: 'tagIndexRoot', name, tag }) !== undefined) {
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
 * The layer links under the given `_layers/<alg>` directories (the scan's
 * RepoScan.layers): one listing each, where listLayerLinks lists _layers/
 * first. A directory gone since the scan has no links left to delete.
 */
export function listLayerLinksIn(reader: TreeReader, name: string, algorithms: readonly Algorithm[]): Digest[] {
  const digests: Digest[] = [];
  visitLayerLinks(reader, name, algorithms, (algorithm, hex) => digests.push(`${algorithm}:${hex}` as Digest));
  return digests;
}

/**
 * listLayerLinksIn as a DigestList, with no digest string made for a
 * sha256 link: the plan lists every layer link of the tree (~1M on the
 * 1M-blob many-small bench tree, each string ~90 bytes of garbage).
 */
export function listLayerLinksPacked(reader: TreeReader, name: string, algorithms: readonly Algorithm[]): DigestList {
  const links = new DigestList();
  visitLayerLinks(reader, name, algorithms, (algorithm, hex) => links.pushHex(algorithm, hex));
  return links;
}

/** Each layer link under the given `_layers/<alg>` directories, as its algorithm and hex, to `visit`. */
function visitLayerLinks(reader: TreeReader, name: string, algorithms: readonly Algorithm[], visit: (algorithm: Algorithm, hex: string) => void): void {
  for (const algorithm of algorithms) {
    const spec = { kind: 'layersAlgorithm', name, algorithm } as const;
    // Optional: removed since the scan (an emptied repository); nothing in it to delete.
    visitDigestDirs(algorithm, reader.list(spec, { optional: true }), reader.pathOf(spec), (hex) => visit(algorithm, hex));
  }
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
