// The on-disk layout of a Distribution registry, owned by this one module.
// Every path the tool reads or deletes is a typed PathSpec rendered by
// renderPath(); parsePath() is its inverse. Paths are relative to the `v2`
// directory and use '/'.
//
//   <rootdirectory>/docker/registry/v2/
//   ├── blobs/<alg>/<hex[0:2]>/<hex>/data            blobData
//   ├── repositories/<name...>/                       repository (name may nest)
//       ├── _layers/<alg>/<hex>/link                  layerLink
//       ├── _manifests/                               manifestsRoot
//       ├── _manifests/revisions/<alg>/<hex>/link     revisionLink
//       ├── _manifests/tags/<tag>/current/link        tagCurrentLink
//       ├── _manifests/tags/<tag>/index/<alg>/<hex>/link   tagIndexLink
//       └── _uploads/<uuid>/...                       never touched
//   └── _janitor/                                     this tool's own (the registry reads only
//       ├── journal.json                              blobs/ and repositories/): the record of an
//       │                                             unfinished tag removal (commands/journal.ts)
//       ├── lock                                      one destructive run per tree (storage/run-lock.ts)
//       ├── quarantine/<alg>/<hex>/data               blobs moved aside by the sweep until the last
//       │                                             revalidation (vacuum.ts quarantine)
//       └── quarantine-revisions/<name, / as +>/<alg>/<hex>/link   revisions, likewise
//
// A link file holds "<alg>:<hex>" with no newline. Only blobs have the
// two-character fan-out directory.

import { type Algorithm, type Digest, splitDigest, isAlgorithm, makeDigest } from '../model/digest.js';

export type PathSpec =
  | { kind: 'janitorDir' }
  | { kind: 'journal' }
  | { kind: 'lock' }
  | { kind: 'quarantineRoot' }
  | { kind: 'quarantineAlgorithm'; algorithm: Algorithm }
  | { kind: 'quarantineBlobDir'; digest: Digest }
  | { kind: 'quarantineRevisionsRoot' }
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

// Repository names: the reference grammar (distribution/reference) as
// Debian's 2.8.2 serves it on the filesystem driver. Lowercase path
// components joined by '/', at most 255 characters in all; the first
// component may instead be a domain: letters of either case, digits and
// '-', dot-separated (`Foo/bar`, `Example.COM/team/app`), only when more
// components follow. The grammar's optional `:port` is left out: 2.8.2's
// filesystem driver refuses every path holding ':' ("invalid path"), so it
// can neither write, serve nor garbage-collect `localhost:5000/x` (checked
// by test/hostile/names-accepted.test.ts). No component can be empty, `.`
// or `..`, or hold a separator or NUL.
const NAME_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
export const MAX_NAME_LENGTH = 255;

export function isNameComponent(component: string): boolean {
  return NAME_COMPONENT.test(component);
}

export function isRepositoryName(name: string): boolean {
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) return false;
  const components = name.split('/');
  const first = components[0]!;
  if (!isNameComponent(first) && !(components.length > 1 && DOMAIN_COMPONENT.test(first))) return false;
  for (let i = 1; i < components.length; i++) if (!isNameComponent(components[i]!)) return false;
  return true;
}

export function isTagName(tag: string): boolean {
  return TAG.test(tag);
}

function digestPath(digest: Digest): string {
  const { algorithm, hex } = splitDigest(digest);
  return `${algorithm}/${hex}`;
}

/** This tool's own directory in v2 (the registry never looks there). */
export const JANITOR_DIR = '_janitor';

/** Renders a path kind to its place relative to the v2 directory. */
export function renderPath(spec: PathSpec): string {
  switch (spec.kind) {
    case 'janitorDir':
      return JANITOR_DIR;
    case 'journal':
      return `${JANITOR_DIR}/journal.json`;
    case 'lock':
      return `${JANITOR_DIR}/lock`;
    case 'quarantineRoot':
      return `${JANITOR_DIR}/quarantine`;
    case 'quarantineAlgorithm':
      return `${JANITOR_DIR}/quarantine/${spec.algorithm}`;
    case 'quarantineBlobDir':
      return `${JANITOR_DIR}/quarantine/${digestPath(spec.digest)}`;
    case 'quarantineRevisionsRoot':
      return `${JANITOR_DIR}/quarantine-revisions`;
    case 'quarantineRevisionDir':
      // '+' cannot occur in a repository name: the name, flattened, maps back.
      return `${JANITOR_DIR}/quarantine-revisions/${spec.name.replaceAll('/', '+')}/${digestPath(spec.digest)}`;
    case 'blobsRoot':
      return 'blobs';
    case 'blobAlgorithm':
      return `blobs/${spec.algorithm}`;
    case 'blobShard':
      return `blobs/${spec.algorithm}/${spec.prefix}`;
    case 'blobDir': {
      const { algorithm, hex } = splitDigest(spec.digest);
      return `blobs/${algorithm}/${hex.slice(0, 2)}/${hex}`;
    }
    case 'blobData':
      return `${renderPath({ kind: 'blobDir', digest: spec.digest })}/data`;
    case 'repositoriesRoot':
      return 'repositories';
    case 'repositoryDir':
      return `repositories/${spec.name}`;
    case 'layersRoot':
      return `repositories/${spec.name}/_layers`;
    case 'layersAlgorithm':
      return `repositories/${spec.name}/_layers/${spec.algorithm}`;
    case 'layerDir':
      return `repositories/${spec.name}/_layers/${digestPath(spec.digest)}`;
    case 'layerLink':
      return `repositories/${spec.name}/_layers/${digestPath(spec.digest)}/link`;
    case 'uploadsRoot':
      return `repositories/${spec.name}/_uploads`;
    case 'manifestsRoot':
      return `repositories/${spec.name}/_manifests`;
    case 'revisionsRoot':
      return `repositories/${spec.name}/_manifests/revisions`;
    case 'revisionsAlgorithm':
      return `repositories/${spec.name}/_manifests/revisions/${spec.algorithm}`;
    case 'revisionDir':
      return `repositories/${spec.name}/_manifests/revisions/${digestPath(spec.digest)}`;
    case 'revisionLink':
      return `repositories/${spec.name}/_manifests/revisions/${digestPath(spec.digest)}/link`;
    case 'tagsRoot':
      return `repositories/${spec.name}/_manifests/tags`;
    case 'tagDir':
      return `repositories/${spec.name}/_manifests/tags/${spec.tag}`;
    case 'tagCurrentDir':
      return `repositories/${spec.name}/_manifests/tags/${spec.tag}/current`;
    case 'tagCurrentLink':
      return `repositories/${spec.name}/_manifests/tags/${spec.tag}/current/link`;
    case 'tagIndexRoot':
      return `repositories/${spec.name}/_manifests/tags/${spec.tag}/index`;
    case 'tagIndexAlgorithm':
      return `repositories/${spec.name}/_manifests/tags/${spec.tag}/index/${spec.algorithm}`;
    case 'tagIndexDir':
      return `repositories/${spec.name}/_manifests/tags/${spec.tag}/index/${digestPath(spec.digest)}`;
    case 'tagIndexLink':
      return `repositories/${spec.name}/_manifests/tags/${spec.tag}/index/${digestPath(spec.digest)}/link`;
  }
}

/** The inverse of renderPath for the leaf kinds; undefined for anything else. */
export function parsePath(relative: string): PathSpec | undefined {
  const parts = relative.split('/');
  if (parts[0] === 'blobs') {
    const [, alg, prefix, hex, data] = parts;
    if (parts.length === 1) return { kind: 'blobsRoot' };
    if (alg === undefined || !isAlgorithm(alg)) return undefined;
    if (parts.length === 2) return { kind: 'blobAlgorithm', algorithm: alg };
    if (parts.length === 3 && prefix !== undefined && /^[a-f0-9]{2}$/.test(prefix)) {
      return { kind: 'blobShard', algorithm: alg, prefix };
    }
    const digest = hex === undefined ? undefined : makeDigest(alg, hex);
    if (!digest || prefix !== hex?.slice(0, 2)) return undefined;
    if (parts.length === 4) return { kind: 'blobDir', digest };
    if (parts.length === 5 && data === 'data') return { kind: 'blobData', digest };
    return undefined;
  }
  if (parts[0] !== 'repositories') return undefined;
  if (parts.length === 1) return { kind: 'repositoriesRoot' };
  const marker = parts.findIndex((part, i) => i > 0 && part.startsWith('_'));
  if (marker < 0) {
    const name = parts.slice(1).join('/');
    return isRepositoryName(name) ? { kind: 'repositoryDir', name } : undefined;
  }
  const name = parts.slice(1, marker).join('/');
  if (!isRepositoryName(name)) return undefined;
  return parseRepositoryPath(name, parts.slice(marker));
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
    if (depth === 3 && rest[under + 2] === 'link') return link(digest);
    return undefined;
  };
  if (rest[0] === '_layers') {
    return digestKinds(
      1,
      () => ({ kind: 'layersRoot', name }),
      (algorithm) => ({ kind: 'layersAlgorithm', name, algorithm }),
      (digest) => ({ kind: 'layerDir', name, digest }),
      (digest) => ({ kind: 'layerLink', name, digest }),
    );
  }
  if (rest[0] !== '_manifests') return undefined;
  if (rest.length === 1) return { kind: 'manifestsRoot', name };
  if (rest[1] === 'revisions') {
    return digestKinds(
      2,
      () => ({ kind: 'revisionsRoot', name }),
      (algorithm) => ({ kind: 'revisionsAlgorithm', name, algorithm }),
      (digest) => ({ kind: 'revisionDir', name, digest }),
      (digest) => ({ kind: 'revisionLink', name, digest }),
    );
  }
  if (rest[1] !== 'tags') return undefined;
  if (rest.length === 2) return { kind: 'tagsRoot', name };
  const tag = rest[2];
  if (tag === undefined || !isTagName(tag)) return undefined;
  if (rest.length === 3) return { kind: 'tagDir', name, tag };
  if (rest[3] === 'current') {
    if (rest.length === 4) return { kind: 'tagCurrentDir', name, tag };
    if (rest.length === 5 && rest[4] === 'link') return { kind: 'tagCurrentLink', name, tag };
    return undefined;
  }
  if (rest[3] !== 'index') return undefined;
  return digestKinds(
    4,
    () => ({ kind: 'tagIndexRoot', name, tag }),
    (algorithm) => ({ kind: 'tagIndexAlgorithm', name, tag, algorithm }),
    (digest) => ({ kind: 'tagIndexDir', name, tag, digest }),
    (digest) => ({ kind: 'tagIndexLink', name, tag, digest }),
  );
}
