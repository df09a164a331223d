// Manifest kinds and what each references, as the mark phase needs them.
//
// | kind        | recognised by                                   | blobs           | children            |
// | schema1     | schemaVersion 1                                 | fsLayers.blobSum| -                   |
// | schema2     | docker ...manifest.v2+json                      | config + layers | -                   |
// | list        | docker ...manifest.list.v2+json                 | -               | manifests[].digest  |
// | oci-manifest| oci ...image.manifest.v1+json / no type, no `manifests` | config + layers | -        |
// | oci-index   | oci ...image.index.v1+json / no type, `manifests` array | -               | manifests[].digest |
//
// `blobs` + `children` are exactly what Distribution 2.8.2's References()
// marks. `subject` (OCI 1.1 referrers) is kept apart: the reference ignores
// it, and -m uses it to keep signatures and SBOMs of kept manifests.
//
// How keys are read: as the registry reads them (Go's case-insensitive,
// last-one-wins matching), and then some: go-json.ts keeps every variant of
// a key, duplicates included.
//
// Every variant of a reference-bearing key (config, layers, manifests,
// subject, fsLayers, blobSum, digest) at every level counts: the refs are
// the UNION of what each variant references. A janitor must not bet on
// which variant a client takes (Go takes the last, other decoders the first).
//
// mediaType / schemaVersion with several variants: union of kinds. Each
// variant that names a known kind adds that kind's references (a document
// whose variants say "index" and "image" marks its children AND its config
// and layers). A variant naming an unknown media type or a schemaVersion
// other than 1 or 2 fails closed (E_UNKNOWN_MEDIA_TYPE / E_BAD_MANIFEST):
// what it would reference cannot be known. `kind` and `mediaType` in the
// result are the ones the registry serves (the last variant, as Go decodes).
//
// Malformed input: every field read has its type checked; anything else is
// one E_BAD_MANIFEST naming the file and the field (as spelled in the
// document, e.g. `Layers[2].digest`). A null value is absent, as in Go. A
// descriptor without any digest is refused, except inside a field that
// occurs more than once: Go decodes a later variant over the earlier one's
// element, keeping its digest, which the union already marks.

import { type Digest, parseDigest } from './digest.js';
import { JanitorError } from '../errors.js';
import { JsonObject, type JsonValue, UNREAD, type Variant, findVariants, readJsonTree } from './go-json.js';

export type ManifestKind = 'schema1' | 'schema2' | 'list' | 'oci-manifest' | 'oci-index';

// A Map, not an object: a media type read from a manifest is any string, and
// an object would answer "constructor" or "toString" with what it inherits
// (a function taken for a kind, the manifest's config and layers never read).
const MEDIA_TYPES: ReadonlyMap<string, ManifestKind> = new Map([
  ['application/vnd.docker.distribution.manifest.v1+json', 'schema1'],
  ['application/vnd.docker.distribution.manifest.v1+prettyjws', 'schema1'],
  ['application/vnd.docker.distribution.manifest.v2+json', 'schema2'],
  ['application/vnd.docker.distribution.manifest.list.v2+json', 'list'],
  ['application/vnd.oci.image.manifest.v1+json', 'oci-manifest'],
  ['application/vnd.oci.image.index.v1+json', 'oci-index'],
]);

/**
 * A known media type as this module's own string: the one read is a slice
 * of the manifest's text, and kept (a RepoScan's, ls's rows) it would keep
 * all that text alive (~2 KB a manifest, where the name is ~45 bytes).
 */
const MEDIA_TYPE_NAMES: ReadonlyMap<string, string> = new Map([...MEDIA_TYPES.keys()].map((name) => [name, name]));

const SCHEMA1_MEDIA_TYPE = 'application/vnd.docker.distribution.manifest.v1+prettyjws';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

export interface Platform {
  os?: string;
  architecture?: string;
  variant?: string;
}

export interface ManifestRefs {
  /** the kind the registry serves it as (Go's reading: the last variant). */
  kind: ManifestKind;
  mediaType: string;
  /** config, layers (schema2/OCI) or fsLayers (schema1): plain blobs, every variant. */
  blobs: Digest[];
  /** child manifests of a list / index, every variant. */
  children: Digest[];
  /** platforms of the children, same order (for the inventory). */
  platforms: (Platform | undefined)[];
  /** OCI 1.1 subject: this manifest is a referrer of that one (the first of `subjects`). */
  subject: Digest | undefined;
  /** every subject variant: a referrer of each. */
  subjects: Digest[];
}

/** A field name, or an element of an array field: rendered only for an error. */
type Where = string | ArrayElement;
interface ArrayElement {
  key: string;
  index: number;
}

const nameOf = (where: Where): string => (typeof where === 'string' ? where : `${where.key}[${where.index}]`);

// --- Reading the manifest ---

function fail(path: string, why: string): never {
  throw new JanitorError('E_BAD_MANIFEST', `unparsable manifest ${path}: ${why}`, { path });
}

const describeValue = (value: JsonValue): string =>
  value === null ? 'null' : Array.isArray(value) ? 'an array' : value instanceof JsonObject ? 'an object' : value === UNREAD ? 'nested too deep' : typeof value;

class ManifestReader {
  constructor(readonly path: string) {}

  fail(why: string): never {
    fail(this.path, why);
  }

  /**
   * The digests of one descriptor: every digest variant. `tolerateMissing`:
   * the descriptor sits in a field that occurs more than once (see header).
   */
  descriptorDigests(value: JsonValue, where: Where, tolerateMissing: boolean): Digest[] {
    if (!(value instanceof JsonObject)) this.fail(`${nameOf(where)} is ${describeValue(value)}, not a descriptor object`);
    const digests: Digest[] = [];
    for (const { key, value: raw } of findVariants(value, 'digest')) {
      if (raw === null) continue;
      const digest = typeof raw === 'string' ? parseDigest(raw) : undefined;
      if (!digest) this.fail(`${nameOf(where)}.${key} is not a valid digest`);
      digests.push(digest);
    }
    if (digests.length === 0 && !tolerateMissing) {
      this.fail(typeof where === 'string' ? `${where} has no valid digest` : `${where.key} entry has no valid digest (${nameOf(where)})`);
    }
    return digests;
  }

  /** Every element of every non-null variant of an array field; `where` names it in errors. */
  arrayElements(variants: Variant[]): { value: JsonValue; where: ArrayElement }[] {
    const out: { value: JsonValue; where: ArrayElement }[] = [];
    for (const { key, value } of variants) {
      if (value === null) continue;
      if (!Array.isArray(value)) this.fail(`${key} is ${describeValue(value)}, not an array`);
      for (const [index, element] of value.entries()) out.push({ value: element, where: { key, index } });
    }
    return out;
  }

  platform(descriptor: JsonObject, where: Where): Platform | undefined {
    let shown: Platform | undefined;
    for (const { key, value } of findVariants(descriptor, 'platform')) {
      if (value === null) continue;
      if (!(value instanceof JsonObject)) this.fail(`${nameOf(where)}.${key} is ${describeValue(value)}, not an object`);
      const platform: Platform = {};
      for (const field of ['os', 'architecture', 'variant'] as const) {
        for (const { key: fieldKey, value: text } of findVariants(value, field.toLowerCase())) {
          if (text === null) continue;
          if (typeof text !== 'string') this.fail(`${nameOf(where)}.${key}.${fieldKey} is ${describeValue(text)}, not a string`);
          platform[field] = text;
        }
      }
      shown = platform;
    }
    return shown;
  }
}

interface KindReading {
  /** every kind some variant makes possible. */
  kinds: Set<ManifestKind>;
  /** the one the registry serves. */
  kind: ManifestKind;
  mediaType: string;
}

function readKinds(doc: JsonObject, reader: ManifestReader): KindReading {
  const path = reader.path;
  const versions: number[] = [];
  for (const { key, value } of findVariants(doc, 'schemaversion')) {
    if (value === null) continue;
    if (value !== 1 && value !== 2) reader.fail(`${key} ${value === UNREAD ? 'nested too deep' : JSON.stringify(value)} is neither 1 nor 2`);
    versions.push(value);
  }
  if (versions.length === 0) reader.fail('schemaVersion undefined is neither 1 nor 2');
  const mediaTypes: string[] = [];
  for (const { key, value } of findVariants(doc, 'mediatype')) {
    if (value === null) continue;
    if (typeof value !== 'string') reader.fail(`${key} is ${describeValue(value)}, not a string`);
    mediaTypes.push(value);
  }
  const kinds = new Set<ManifestKind>();
  if (versions.includes(1)) kinds.add('schema1');
  const manifestsVariants = findVariants(doc, 'manifests');
  const configVariants = findVariants(doc, 'config');
  const hasManifestsArray = manifestsVariants.some((v) => Array.isArray(v.value));
  if (versions.includes(2)) {
    for (const mediaType of mediaTypes) {
      if (mediaType === '') continue;
      const kind = MEDIA_TYPES.get(mediaType);
      if (!kind || kind === 'schema1') {
        throw new JanitorError('E_UNKNOWN_MEDIA_TYPE', `unknown manifest media type ${JSON.stringify(mediaType)} in ${path}`, { path });
      }
      kinds.add(kind);
    }
    if (mediaTypes.length === 0 || mediaTypes.includes('')) {
      // No media type: the registry tries an index first, then an image.
      if (hasManifestsArray) kinds.add('oci-index');
      if (configVariants.length > 0) kinds.add('oci-manifest');
      if (!hasManifestsArray && configVariants.length === 0 && kinds.size === 0) {
        reader.fail('no mediaType and neither a config nor a manifests array');
      }
    }
  }
  // What Go decodes: the last variant of each.
  const lastVersion = versions[versions.length - 1];
  const lastType = mediaTypes[mediaTypes.length - 1];
  // Known whenever it is not '': with schemaVersion 2 every media type was checked above.
  const lastTypeKind = lastType === undefined || lastType === '' ? undefined : MEDIA_TYPES.get(lastType);
  let served: { kind: ManifestKind; mediaType: string };
  if (lastVersion === 1) served = { kind: 'schema1', mediaType: SCHEMA1_MEDIA_TYPE };
  else if (lastType !== undefined && lastTypeKind !== undefined) served = { kind: lastTypeKind, mediaType: MEDIA_TYPE_NAMES.get(lastType) ?? lastType };
  else if (Array.isArray(manifestsVariants[manifestsVariants.length - 1]?.value)) served = { kind: 'oci-index', mediaType: OCI_INDEX };
  else served = { kind: 'oci-manifest', mediaType: OCI_MANIFEST };
  const [firstKind] = kinds; // there is one: every way through above adds a kind or fails
  if (!kinds.has(served.kind) && firstKind !== undefined) {
    // Only a display question (e.g. no media type, and the last `manifests`
    // is null while an earlier one is an array): show a kind whose refs are read.
    const kind = firstKind;
    const mediaType = kind === 'oci-index' ? OCI_INDEX : kind === 'oci-manifest' ? OCI_MANIFEST : served.mediaType;
    served = { kind, mediaType };
  }
  return { kinds, ...served };
}

/** Parses manifest bytes; `path` names the blob file in errors. */
export function parseManifest(bytes: Uint8Array, path: string): ManifestRefs {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  try {
    // The strict validator; readJsonTree then only rebuilds the structure.
    JSON.parse(text);
  } catch (cause) {
    throw new JanitorError('E_BAD_MANIFEST', `unparsable manifest ${path}: not valid JSON`, { path, cause });
  }
  const doc = readJsonTree(text);
  if (!(doc instanceof JsonObject)) fail(path, 'not a JSON object');
  const reader: ManifestReader = new ManifestReader(path);
  const { kinds, kind, mediaType } = readKinds(doc, reader);
  const refs: ManifestRefs = { kind, mediaType, blobs: [], children: [], platforms: [], subject: undefined, subjects: [] };

  if (kinds.has('schema1')) {
    const variants = findVariants(doc, 'fslayers');
    for (const { value, where } of reader.arrayElements(variants)) {
      if (!(value instanceof JsonObject)) reader.fail(`${nameOf(where)} is ${describeValue(value)}, not an object`);
      const sums: Digest[] = [];
      for (const { key, value: raw } of findVariants(value, 'blobsum')) {
        if (raw === null) continue;
        const digest = typeof raw === 'string' ? parseDigest(raw) : undefined;
        if (!digest) reader.fail(`${nameOf(where)}.${key} is not a valid digest`);
        sums.push(digest);
      }
      if (sums.length === 0 && variants.length < 2) reader.fail(`${where.key} entry has no valid blobSum (${nameOf(where)})`);
      refs.blobs.push(...sums);
    }
  }
  if (kinds.has('schema2') || kinds.has('oci-manifest')) {
    const configs = findVariants(doc, 'config');
    const onlyImage = [...kinds].every((k) => k === 'schema2' || k === 'oci-manifest');
    if (configs.length === 0 && onlyImage) reader.fail('no config descriptor');
    const present = configs.filter((v) => v.value !== null);
    const [firstConfig] = configs;
    if (present.length === 0 && firstConfig !== undefined && onlyImage) reader.fail(`${firstConfig.key} is null, not a descriptor object`);
    for (const { key, value } of present) refs.blobs.push(...reader.descriptorDigests(value, key, configs.length > 1));
    const layers = findVariants(doc, 'layers');
    for (const { value, where } of reader.arrayElements(layers)) refs.blobs.push(...reader.descriptorDigests(value, where, layers.length > 1));
  }
  if (kinds.has('list') || kinds.has('oci-index')) {
    const manifests = findVariants(doc, 'manifests');
    for (const { value, where } of reader.arrayElements(manifests)) {
      const digests = reader.descriptorDigests(value, where, manifests.length > 1);
      const platform = reader.platform(value as JsonObject, where);
      for (const digest of digests) {
        refs.children.push(digest);
        refs.platforms.push(platform);
      }
    }
  }
  if ([...kinds].some((k) => k !== 'schema1')) {
    const subjects = findVariants(doc, 'subject');
    for (const { key, value } of subjects) {
      if (value === null) continue;
      refs.subjects.push(...reader.descriptorDigests(value, key, subjects.length > 1));
    }
    refs.subject = refs.subjects[0];
  }
  return refs;
}
