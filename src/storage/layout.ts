// The on-disk layout of a Distribution registry, owned by this one module
// in both directions: every path the tool reads, moves or deletes is a typed
// PathSpec rendered by renderPath(), parsePath() turns a path back into its
// PathSpec, and every name the readers and the deleter match entries against
// ('data', 'link', 'current', 'index', the shard, the repository markers) is
// exported from here. Paths are relative to the `v2` directory and use '/'.
//
//   <rootdirectory>/docker/registry/v2/              V2_BELOW_ROOT (locate-root.ts)
//   ├── blobs/                                       blobsRoot
//   │   └── <alg>/                                   blobAlgorithm
//   │       └── <hex[0:2]>/                          blobShard: the fan-out, 256 shards for sha256
//   │           └── <hex>/                           blobDir
//   │               └── data                         blobData
//   ├── repositories/                                repositoriesRoot
//   │   └── <name...>/                               repositoryDir (the name may nest: a/b and a/b/c)
//   │       ├── _layers/                             layersRoot
//   │       │   └── <alg>/<hex>/link                 layersAlgorithm, layerDir, layerLink
//   │       ├── _manifests/                          manifestsRoot
//   │       │   ├── revisions/                       revisionsRoot
//   │       │   │   └── <alg>/<hex>/link             revisionsAlgorithm, revisionDir, revisionLink
//   │       │   └── tags/                            tagsRoot
//   │       │       └── <tag>/                       tagDir
//   │       │           ├── current/link             tagCurrentDir, tagCurrentLink
//   │       │           └── index/                   tagIndexRoot
//   │       │               └── <alg>/<hex>/link     tagIndexAlgorithm, tagIndexDir, tagIndexLink
//   │       └── _uploads/                            uploadsRoot: unfinished blob uploads
//   │           └── <uuid>/                          uploadDir: one upload (gc --purge-uploads removes old ones)
//   │               ├── startedat                    uploadStartedAt: when it began, RFC 3339 ("2026-12-02T16:26:11Z")
//   │               ├── data                         uploadData: the bytes received so far
//   │               └── hashstates/<alg>/<offset>    uploadHashStatesRoot, uploadHashStatesAlgorithm, uploadHashState:
//   │                                                the digest's state saved at each offset received
//   └── _janitor/                                    janitorDir: this tool's own; the registry reads only
//       │                                            blobs/ and repositories/
//       ├── journal.json                             journal: the record of an unfinished tag removal
//       │                                            (commands/journal.ts)
//       ├── lock                                     lock: one destructive run per tree (storage/run-lock.ts)
//       ├── quarantine/                              quarantineRoot: blobs moved aside by the sweep until
//       │   └── <alg>/<xx>/<hex>/data                its last revalidation (quarantine.ts): quarantineAlgorithm,
//       │                                            quarantineShard, quarantineBlobDir (sharded as blobs/
//       │                                            is: one flat directory serialised every rmdir on it)
//       └── quarantine-revisions/                    quarantineRevisionsRoot: revisions, likewise
//           └── <name, / as +>/<alg>/<hex>/link      quarantineRevisionsRepository, quarantineRevisionsAlgorithm,
//                                                    quarantineRevisionDir
//
// A link file holds "<alg>:<hex>" with no newline. Only blobs have the
// two-character fan-out directory (the shard).

import { type Algorithm, type Digest, isAlgorithm, makeDigest, shardOf, splitDigest } from '../model/digest.js';
import { isRepositoryName, isTagName } from './repository-names.js';

export type PathSpec =
  | { kind: 'janitorDir' }
  | { kind: 'journal' }
  | { kind: 'lock' }
  | { kind: 'quarantineRoot' }
  | { kind: 'quarantineAlgorithm'; algorithm: Algorithm }
  | { kind: 'quarantineShard'; algorithm: Algorithm; shard: string }
  | { kind: 'quarantineBlobDir'; digest: Digest }
  | { kind: 'quarantineRevisionsRoot' }
  | { kind: 'quarantineRevisionsRepository'; name: string }
  | { kind: 'quarantineRevisionsAlgorithm'; name: string; algorithm: Algorithm }
  | { kind: 'quarantineRevisionDir'; name: string; digest: Digest }
  | { kind: 'blobsRoot' }
  | { kind: 'blobAlgorithm'; algorithm: Algorithm }
  | { kind: 'blobShard'; algorithm: Algorithm; prefix: string }
  | { kind: 'blobDir'; digest: Digest }
  | { kind: 'blobData'; digest: Digest }
  | { kind: 'repositoriesRoot' }
  | { kind: 'repositoryDir'; name: string }
  | { kind: 'layersRoot'; name: string }
  | { kind: 'layersAlgorithm'; name: string; algorithm: Algorithm }
  | { kind: 'layerDir'; name: string; digest: Digest }
  | { kind: 'layerLink'; name: string; digest: Digest }
  | { kind: 'uploadsRoot'; name: string }
  | { kind: 'uploadDir'; name: string; id: string }
  | { kind: 'uploadStartedAt'; name: string; id: string }
  | { kind: 'uploadData'; name: string; id: string }
  | { kind: 'uploadHashStatesRoot'; name: string; id: string }
  | { kind: 'uploadHashStatesAlgorithm'; name: string; id: string; algorithm: Algorithm }
  | { kind: 'uploadHashState'; name: string; id: string; algorithm: Algorithm; offset: string }
  | { kind: 'manifestsRoot'; name: string }
  | { kind: 'revisionsRoot'; name: string }
  | { kind: 'revisionsAlgorithm'; name: string; algorithm: Algorithm }
  | { kind: 'revisionDir'; name: string; digest: Digest }
  | { kind: 'revisionLink'; name: string; digest: Digest }
  | { kind: 'tagsRoot'; name: string }
  | { kind: 'tagDir'; name: string; tag: string }
  | { kind: 'tagCurrentDir'; name: string; tag: string }
  | { kind: 'tagCurrentLink'; name: string; tag: string }
  | { kind: 'tagIndexRoot'; name: string; tag: string }
  | { kind: 'tagIndexAlgorithm'; name: string; tag: string; algorithm: Algorithm }
  | { kind: 'tagIndexDir'; name: string; tag: string; digest: Digest }
  | { kind: 'tagIndexLink'; name: string; tag: string; digest: Digest };

/** Where the filesystem driver keeps the v2 directory below its rootdirectory. */
export const V2_BELOW_ROOT = ['docker', 'registry', 'v2'] as const;
const BLOBS_DIR = 'blobs';
const REPOSITORIES_DIR = 'repositories';
/** This tool's own directory in v2 (the registry never looks there). */
export const JANITOR_DIR = '_janitor';
const JOURNAL_FILE = 'journal.json';
const LOCK_FILE = 'lock';
const QUARANTINE_DIR = 'quarantine';
const QUARANTINE_REVISIONS_DIR = 'quarantine-revisions';

/** What the v2 directory may hold: the registry's two trees and this tool's own directory. */
export function isV2Entry(name: string): boolean {
  return name === BLOBS_DIR || name === REPOSITORIES_DIR || name === JANITOR_DIR;
}

/** The one file of a blob directory. */
export const BLOB_FILE = 'data';
/** The one file of a layer, revision, tag current or tag index directory. */
export const LINK_FILE = 'link';
export type LeafFile = typeof BLOB_FILE | typeof LINK_FILE;
/** A tag directory's two children: current/ (one link) and index/ (<alg>/<hex>/link each). */
export const TAG_CURRENT = 'current';
export const TAG_INDEX = 'index';

const LAYERS_DIR = '_layers';
const MANIFESTS_DIR = '_manifests';
const UPLOADS_DIR = '_uploads';
const REVISIONS_DIR = 'revisions';
const TAGS_DIR = 'tags';
/** An upload directory's files: its start time and its bytes (named as a blob's, which it becomes). */
export const UPLOAD_STARTED_AT = 'startedat';
export const UPLOAD_DATA = 'data';
/** An upload directory's one subdirectory: hashstates/<alg>/<offset>. */
export const UPLOAD_HASH_STATES = 'hashstates';

/**
 * A repository's own directories start with '_' (_layers, _manifests,
 * _uploads), which no name component can: the catalog never enters one, and
 * they end the name in a path.
 */
export function isRepositoryOwnDir(name: string): boolean {
  return name.startsWith('_');
}

/** A directory under repositories/ holding `_uploads` has unfinished uploads (a repository's, or a first push's). */
export function marksUploads(childName: string): boolean {
  return childName === UPLOADS_DIR;
}

/** A directory holding a `_layers` (v2.8) or `_manifests` (v3) child is a repository. */
export function marksRepository(childName: string): boolean {
  return childName === LAYERS_DIR || childName === MANIFESTS_DIR;
}

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const TEMPORARY = { data: new RegExp(`^${BLOB_FILE}\\.${UUID}\\.tmp$`), link: new RegExp(`^${LINK_FILE}\\.${UUID}\\.tmp$`) };
const UPLOAD_ID = new RegExp(`^${UUID}$`);
// strconv.FormatInt(offset, 10): the bytes received when the state was saved.
const OFFSET = /^(?:0|[1-9][0-9]{0,18})$/;
const TEMPORARY_SUFFIX = new RegExp(`\\.${UUID}\\.tmp$`);

/**
 * A `<file>.<uuid>.tmp` beside a `data` or `link`: the known shape of a
 * crashed write of current Distribution (v3 writes small files to such a
 * temporary name and renames it).
 */
export function isTemporaryOf(file: LeafFile, name: string): boolean {
  return TEMPORARY[file].test(name);
}

/** An upload's id: the lowercase UUID the registry generates (uuid.Generate) and names its directory by. */
export function isUploadId(name: string): boolean {
  return UPLOAD_ID.test(name);
}

/** A saved hash state's name: the decimal offset it was saved at. */
export function isHashStateOffset(name: string): boolean {
  return OFFSET.test(name);
}

/**
 * A file of an upload directory, by name: startedat, data, a hash state's
 * offset, or the `<name>.<uuid>.tmp` of a crashed write of any of them.
 */
export function isUploadFileName(name: string, where: 'upload' | 'hashState'): boolean {
  const base = name.replace(TEMPORARY_SUFFIX, '');
  return where === 'upload' ? base === UPLOAD_STARTED_AT || base === UPLOAD_DATA : isHashStateOffset(base);
}

const SHARD = /^[a-f0-9]{2}$/;

export function isShardName(name: string): boolean {
  return SHARD.test(name);
}

// '+' cannot occur in a repository name: the name, flattened into one
// directory of the quarantine, maps back.
function flattenName(name: string): string {
  return name.replaceAll('/', '+');
}

function unflattenName(flat: string): string | undefined {
  const name = flat.replaceAll('+', '/');
  return isRepositoryName(name) ? name : undefined;
}

function digestPath(digest: Digest): string {
  const { algorithm, hex } = splitDigest(digest);
  return `${algorithm}/${hex}`;
}

const repository = (name: string): string => `${REPOSITORIES_DIR}/${name}`;
const upload = (name: string, id: string): string => `${repository(name)}/${UPLOADS_DIR}/${id}`;
const revisions = (name: string): string => `${repository(name)}/${MANIFESTS_DIR}/${REVISIONS_DIR}`;
const tagDir = (name: string, tag: string): string => `${repository(name)}/${MANIFESTS_DIR}/${TAGS_DIR}/${tag}`;
const quarantined = (name: string): string => `${JANITOR_DIR}/${QUARANTINE_REVISIONS_DIR}/${flattenName(name)}`;
function blobDir(digest: Digest, under: string): string {
  const { algorithm, hex } = splitDigest(digest);
  return `${under}/${algorithm}/${shardOf(hex)}/${hex}`;
}

/** Each path kind's place relative to the v2 directory: one line each, so the table reads as the tree above. */
const RENDER: { [K in PathSpec['kind']]: (spec: Extract<PathSpec, { kind: K }>) => string } = {
  janitorDir: () => JANITOR_DIR,
  journal: () => `${JANITOR_DIR}/${JOURNAL_FILE}`,
  lock: () => `${JANITOR_DIR}/${LOCK_FILE}`,
  quarantineRoot: () => `${JANITOR_DIR}/${QUARANTINE_DIR}`,
  quarantineAlgorithm: (s) => `${JANITOR_DIR}/${QUARANTINE_DIR}/${s.algorithm}`,
  quarantineShard: (s) => `${JANITOR_DIR}/${QUARANTINE_DIR}/${s.algorithm}/${s.shard}`,
  quarantineBlobDir: (s) => blobDir(s.digest, `${JANITOR_DIR}/${QUARANTINE_DIR}`),
  quarantineRevisionsRoot: () => `${JANITOR_DIR}/${QUARANTINE_REVISIONS_DIR}`,
  quarantineRevisionsRepository: (s) => quarantined(s.name),
  quarantineRevisionsAlgorithm: (s) => `${quarantined(s.name)}/${s.algorithm}`,
  quarantineRevisionDir: (s) => `${quarantined(s.name)}/${digestPath(s.digest)}`,
  blobsRoot: () => BLOBS_DIR,
  blobAlgorithm: (s) => `${BLOBS_DIR}/${s.algorithm}`,
  blobShard: (s) => `${BLOBS_DIR}/${s.algorithm}/${s.prefix}`,
  blobDir: (s) => blobDir(s.digest, BLOBS_DIR),
  blobData: (s) => `${blobDir(s.digest, BLOBS_DIR)}/${BLOB_FILE}`,
  repositoriesRoot: () => REPOSITORIES_DIR,
  repositoryDir: (s) => repository(s.name),
  layersRoot: (s) => `${repository(s.name)}/${LAYERS_DIR}`,
  layersAlgorithm: (s) => `${repository(s.name)}/${LAYERS_DIR}/${s.algorithm}`,
  layerDir: (s) => `${repository(s.name)}/${LAYERS_DIR}/${digestPath(s.digest)}`,
  layerLink: (s) => `${repository(s.name)}/${LAYERS_DIR}/${digestPath(s.digest)}/${LINK_FILE}`,
  uploadsRoot: (s) => `${repository(s.name)}/${UPLOADS_DIR}`,
  uploadDir: (s) => upload(s.name, s.id),
  uploadStartedAt: (s) => `${upload(s.name, s.id)}/${UPLOAD_STARTED_AT}`,
  uploadData: (s) => `${upload(s.name, s.id)}/${UPLOAD_DATA}`,
  uploadHashStatesRoot: (s) => `${upload(s.name, s.id)}/${UPLOAD_HASH_STATES}`,
  uploadHashStatesAlgorithm: (s) => `${upload(s.name, s.id)}/${UPLOAD_HASH_STATES}/${s.algorithm}`,
  uploadHashState: (s) => `${upload(s.name, s.id)}/${UPLOAD_HASH_STATES}/${s.algorithm}/${s.offset}`,
  manifestsRoot: (s) => `${repository(s.name)}/${MANIFESTS_DIR}`,
  revisionsRoot: (s) => revisions(s.name),
  revisionsAlgorithm: (s) => `${revisions(s.name)}/${s.algorithm}`,
  revisionDir: (s) => `${revisions(s.name)}/${digestPath(s.digest)}`,
  revisionLink: (s) => `${revisions(s.name)}/${digestPath(s.digest)}/${LINK_FILE}`,
  tagsRoot: (s) => `${repository(s.name)}/${MANIFESTS_DIR}/${TAGS_DIR}`,
  tagDir: (s) => tagDir(s.name, s.tag),
  tagCurrentDir: (s) => `${tagDir(s.name, s.tag)}/${TAG_CURRENT}`,
  tagCurrentLink: (s) => `${tagDir(s.name, s.tag)}/${TAG_CURRENT}/${LINK_FILE}`,
  tagIndexRoot: (s) => `${tagDir(s.name, s.tag)}/${TAG_INDEX}`,
  tagIndexAlgorithm: (s) => `${tagDir(s.name, s.tag)}/${TAG_INDEX}/${s.algorithm}`,
  tagIndexDir: (s) => `${tagDir(s.name, s.tag)}/${TAG_INDEX}/${digestPath(s.digest)}`,
  tagIndexLink: (s) => `${tagDir(s.name, s.tag)}/${TAG_INDEX}/${digestPath(s.digest)}/${LINK_FILE}`,
};

/** Renders a path kind to its place relative to the v2 directory. */
export function renderPath(spec: PathSpec): string {
  // The table is keyed by kind, so the lookup's function takes this spec's variant.
  return (RENDER[spec.kind] as (spec: PathSpec) => string)(spec);
}

/**
 * The inverse of renderPath: the PathSpec a relative path is, or undefined
 * for a path the layout does not have (an unknown entry, an invalid
 * repository name or tag, a digest directory whose name is not a digest, a
 * blob outside its shard).
 */
export function parsePath(relative: string): PathSpec | undefined {
  const parts = relative.split('/');
  switch (parts[0]) {
    case BLOBS_DIR:
      return parseBlobPath(parts);
    case REPOSITORIES_DIR:
      return parseRepositoriesPath(parts);
    case JANITOR_DIR:
      return parseJanitorPath(parts);
    default:
      return undefined;
  }
}

function parseBlobPath(parts: string[]): PathSpec | undefined {
  const [, alg, prefix, hex, data] = parts;
  if (parts.length === 1) return { kind: 'blobsRoot' };
  if (alg === undefined || !isAlgorithm(alg)) return undefined;
  if (parts.length === 2) return { kind: 'blobAlgorithm', algorithm: alg };
  if (parts.length === 3 && prefix !== undefined && isShardName(prefix)) {
    return { kind: 'blobShard', algorithm: alg, prefix };
  }
  if (hex === undefined || prefix !== shardOf(hex)) return undefined;
  const digest = makeDigest(alg, hex);
  if (!digest) return undefined;
  if (parts.length === 4) return { kind: 'blobDir', digest };
  if (parts.length === 5 && data === BLOB_FILE) return { kind: 'blobData', digest };
  return undefined;
}

function parseRepositoriesPath(parts: string[]): PathSpec | undefined {
  if (parts.length === 1) return { kind: 'repositoriesRoot' };
  const marker = parts.findIndex((part, i) => i > 0 && isRepositoryOwnDir(part));
  if (marker < 0) {
    const name = parts.slice(1).join('/');
    return isRepositoryName(name) ? { kind: 'repositoryDir', name } : undefined;
  }
  const name = parts.slice(1, marker).join('/');
  if (!isRepositoryName(name)) return undefined;
  return parseRepositoryPath(name, parts.slice(marker));
}

function parseJanitorPath(parts: string[]): PathSpec | undefined {
  const [, area, first, second, third] = parts;
  if (parts.length === 1) return { kind: 'janitorDir' };
  if (parts.length === 2 && area === JOURNAL_FILE) return { kind: 'journal' };
  if (parts.length === 2 && area === LOCK_FILE) return { kind: 'lock' };
  if (area === QUARANTINE_DIR) {
    if (parts.length === 2) return { kind: 'quarantineRoot' };
    if (first === undefined || !isAlgorithm(first)) return undefined;
    if (parts.length === 3) return { kind: 'quarantineAlgorithm', algorithm: first };
    if (second === undefined || !isShardName(second)) return undefined;
    if (parts.length === 4) return { kind: 'quarantineShard', algorithm: first, shard: second };
    const digest = third === undefined ? undefined : makeDigest(first, third);
    return digest && parts.length === 5 && shardOf(third ?? '') === second ? { kind: 'quarantineBlobDir', digest } : undefined;
  }
  if (area !== QUARANTINE_REVISIONS_DIR) return undefined;
  if (parts.length === 2) return { kind: 'quarantineRevisionsRoot' };
  const name = first === undefined ? undefined : unflattenName(first);
  if (name === undefined) return undefined;
  if (parts.length === 3) return { kind: 'quarantineRevisionsRepository', name };
  if (second === undefined || !isAlgorithm(second)) return undefined;
  if (parts.length === 4) return { kind: 'quarantineRevisionsAlgorithm', name, algorithm: second };
  const digest = third === undefined ? undefined : makeDigest(second, third);
  return digest && parts.length === 5 ? { kind: 'quarantineRevisionDir', name, digest } : undefined;
}

function parseRepositoryPath(name: string, rest: string[]): PathSpec | undefined {
  const algAt = (i: number): Algorithm | undefined => {
    const alg = rest[i];
    return alg !== undefined && isAlgorithm(alg) ? alg : undefined;
  };
  const digestAt = (i: number): Digest | undefined => {
    const algorithm = algAt(i);
    const hex = rest[i + 1];
    return algorithm && hex !== undefined ? makeDigest(algorithm, hex) : undefined;
  };
  // Positional: `under` is how many leading parts name the container
  // (_layers = 1, _manifests/revisions = 2, _manifests/tags/<tag>/index = 4).
  const digestKinds = (
    under: number,
    root: () => PathSpec,
    alg: (algorithm: Algorithm) => PathSpec,
    dir: (digest: Digest) => PathSpec,
    link: (digest: Digest) => PathSpec,
  ): PathSpec | undefined => {
    const depth = rest.length - under;
    if (depth === 0) return root();
    const algorithm = algAt(under);
    if (!algorithm) return undefined;
    if (depth === 1) return alg(algorithm);
    const digest = digestAt(under);
    if (!digest) return undefined;
    if (depth === 2) return dir(digest);
    if (depth === 3 && rest[under + 2] === LINK_FILE) return link(digest);
    return undefined;
  };
  if (rest[0] === LAYERS_DIR) {
    return digestKinds(
      1,
      () => ({ kind: 'layersRoot', name }),
      (algorithm) => ({ kind: 'layersAlgorithm', name, algorithm }),
      (digest) => ({ kind: 'layerDir', name, digest }),
      (digest) => ({ kind: 'layerLink', name, digest }),
    );
  }
  if (rest[0] === UPLOADS_DIR) return parseUploadPath(name, rest);
  if (rest[0] !== MANIFESTS_DIR) return undefined;
  if (rest.length === 1) return { kind: 'manifestsRoot', name };
  if (rest[1] === REVISIONS_DIR) {
    return digestKinds(
      2,
      () => ({ kind: 'revisionsRoot', name }),
      (algorithm) => ({ kind: 'revisionsAlgorithm', name, algorithm }),
      (digest) => ({ kind: 'revisionDir', name, digest }),
      (digest) => ({ kind: 'revisionLink', name, digest }),
    );
  }
  if (rest[1] !== TAGS_DIR) return undefined;
  if (rest.length === 2) return { kind: 'tagsRoot', name };
  const tag = rest[2];
  if (tag === undefined || !isTagName(tag)) return undefined;
  if (rest.length === 3) return { kind: 'tagDir', name, tag };
  if (rest[3] === TAG_CURRENT) {
    if (rest.length === 4) return { kind: 'tagCurrentDir', name, tag };
    if (rest.length === 5 && rest[4] === LINK_FILE) return { kind: 'tagCurrentLink', name, tag };
    return undefined;
  }
  if (rest[3] !== TAG_INDEX) return undefined;
  return digestKinds(
    4,
    () => ({ kind: 'tagIndexRoot', name, tag }),
    (algorithm) => ({ kind: 'tagIndexAlgorithm', name, tag, algorithm }),
    (digest) => ({ kind: 'tagIndexDir', name, tag, digest }),
    (digest) => ({ kind: 'tagIndexLink', name, tag, digest }),
  );
}

/** `_uploads`, `_uploads/<uuid>` and what an upload directory holds. */
function parseUploadPath(name: string, rest: string[]): PathSpec | undefined {
  const [, id, file, alg, offset] = rest;
  if (rest.length === 1) return { kind: 'uploadsRoot', name };
  if (id === undefined || !isUploadId(id)) return undefined;
  if (rest.length === 2) return { kind: 'uploadDir', name, id };
  if (rest.length === 3 && file === UPLOAD_STARTED_AT) return { kind: 'uploadStartedAt', name, id };
  if (rest.length === 3 && file === UPLOAD_DATA) return { kind: 'uploadData', name, id };
  if (file !== UPLOAD_HASH_STATES) return undefined;
  if (rest.length === 3) return { kind: 'uploadHashStatesRoot', name, id };
  if (alg === undefined || !isAlgorithm(alg)) return undefined;
  if (rest.length === 4) return { kind: 'uploadHashStatesAlgorithm', name, id, algorithm: alg };
  if (rest.length === 5 && offset !== undefined && isHashStateOffset(offset)) return { kind: 'uploadHashState', name, id, algorithm: alg, offset };
  return undefined;
}
