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
// How keys are read: as the registry reads them, and then some.
// The registry decodes manifests with Go's encoding/json (Go 1.19 in
// Debian's 2.8.2), which matches an object key to a field case-insensitively,
// also folding U+017F (long s) to `s` and U+212A (Kelvin sign) to `k`, after
// decoding `\u` escapes; when several keys of one object match one field,
// the last one in the document wins, duplicates of the very same spelling
// included. 2.8.2 accepts, stores and serves all of these (checked by
// test/hostile/manifests-case-variants.test.ts): "Layers", "MANIFESTS",
// "Subject", "Digest", "layerſ", "\u006cayers", two "layers" keys.
// JSON.parse sees only the last of two identical keys, so a small tolerant
// reader (readJsonTree) keeps every key/value pair, in document order.
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

export type ManifestKind = 'schema1' | 'schema2' | 'list' | 'oci-manifest' | 'oci-index';

export const MEDIA_TYPES: Readonly<Record<string, ManifestKind>> = {
  'application/vnd.docker.distribution.manifest.v1+json': 'schema1',
  'application/vnd.docker.distribution.manifest.v1+prettyjws': 'schema1',
  'application/vnd.docker.distribution.manifest.v2+json': 'schema2',
  'application/vnd.docker.distribution.manifest.list.v2+json': 'list',
  'application/vnd.oci.image.manifest.v1+json': 'oci-manifest',
  'application/vnd.oci.image.index.v1+json': 'oci-index',
};

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

// --- A tolerant JSON tree: objects keep every key/value pair in order ---

/** A JSON object with its members in document order, duplicates kept. */
export class JsonObject {
  constructor(readonly members: [string, JsonValue][]) {}
}

/** A container nested deeper than any field the janitor reads. */
export const UNREAD: unique symbol = Symbol('unread');

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject | typeof UNREAD;

// Containers deeper than this are skipped, not built: the deepest field read
// is manifests[i].platform.os (depth 4), and skipping keeps the reader's
// recursion bounded on hostile nesting.
const MAX_BUILT_DEPTH = 4;

/**
 * Reads text that JSON.parse has already accepted into a tree that keeps
 * duplicate keys. Containers below MAX_BUILT_DEPTH become UNREAD.
 */
export function readJsonTree(text: string): JsonValue {
  let at = 0;
  const skipSpace = (): void => {
    for (;;) {
      const c = text.charCodeAt(at);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) at++;
      else return;
    }
  };
  // The next backslash at or after `at` (-1: none left), kept so that
  // plain strings are found with one native indexOf each.
  let nextBackslash = text.indexOf('\\');
  const readString = (): string => {
    const start = at; // at the opening quote
    let end = text.indexOf('"', start + 1);
    if (nextBackslash >= 0 && nextBackslash < start) nextBackslash = text.indexOf('\\', start);
    if (nextBackslash < 0 || nextBackslash > end) {
      at = end + 1;
      return text.slice(start + 1, end);
    }
    end = start + 1;
    for (;;) {
      const c = text.charCodeAt(end);
      if (c === 0x22) break;
      end += c === 0x5c ? 2 : 1;
    }
    at = end + 1;
    return JSON.parse(text.slice(start, at)) as string;
  };
  const skipContainer = (): void => {
    let depth = 0;
    for (;;) {
      const c = text.charCodeAt(at);
      if (c === 0x22) {
        readString();
        continue;
      }
      at++;
      if (c === 0x7b || c === 0x5b) depth++;
      else if ((c === 0x7d || c === 0x5d) && --depth === 0) return;
    }
  };
  const readValue = (depth: number): JsonValue => {
    skipSpace();
    const c = text.charCodeAt(at);
    if (c === 0x22) return readString();
    if (c === 0x7b || c === 0x5b) {
      if (depth > MAX_BUILT_DEPTH) {
        skipContainer();
        return UNREAD;
      }
      at++;
      skipSpace();
      if (c === 0x5b) {
        const items: JsonValue[] = [];
        if (text.charCodeAt(at) === 0x5d) {
          at++;
          return items;
        }
        for (;;) {
          items.push(readValue(depth + 1));
          skipSpace();
          if (text.charCodeAt(at++) === 0x5d) return items; // else ','
        }
      }
      const members: [string, JsonValue][] = [];
      if (text.charCodeAt(at) === 0x7d) {
        at++;
        return new JsonObject(members);
      }
      for (;;) {
        skipSpace();
        const key = readString();
        skipSpace();
        at++; // ':'
        members.push([key, readValue(depth + 1)]);
        skipSpace();
        if (text.charCodeAt(at++) === 0x7d) return new JsonObject(members); // else ','
      }
    }
    if (c === 0x74) {
      at += 4;
      return true;
    }
    if (c === 0x66) {
      at += 5;
      return false;
    }
    if (c === 0x6e) {
      at += 4;
      return null;
    }
    const start = at;
    for (;;) {
      const d = text.charCodeAt(at);
      // digits, '+', '-', '.', 'e', 'E'
      if ((d >= 0x30 && d <= 0x39) || d === 0x2b || d === 0x2d || d === 0x2e || d === 0x65 || d === 0x45) at++;
      else break;
    }
    return Number(text.slice(start, at));
  };
  return readValue(0);
}

/** The key as Go 1.19's encoding/json compares it with an ASCII field name. */
export function foldKey(key: string): string {
  // toLowerCase maps U+212A (Kelvin) to 'k'; U+017F (long s) stays and is mapped here.
  const lower = key.toLowerCase();
  // The replace only where there is a long s: this runs for every camelCase
  // key read (mediaType, schemaVersion, blobSum), and the regex replace made
  // reading a 2 KB manifest ~2x slower (19.7 µs against 10.8 µs).
  return lower.includes('\u017f') ? lower.replace(/\u017f/g, 's') : lower;
}

/** A field name, or an element of an array field: rendered only for an error. */
type Where = string | ArrayElement;
interface ArrayElement {
  key: string;
  index: number;
}

const nameOf = (where: Where): string => (typeof where === 'string' ? where : `${where.key}[${where.index}]`);

interface Variant {
  /** the key as spelled in the document, for error messages. */
  key: string;
  value: JsonValue;
}

/** Every member whose key Go would decode into `field` (lowercase), in document order. */
function findVariants(object: JsonObject, field: string): Variant[] {
  const out: Variant[] = [];
  for (const [key, value] of object.members) {
    // Every key that folds to an ASCII name has its length in UTF-16 units.
    if (key.length === field.length && (key === field || foldKey(key) === field)) out.push({ key, value });
  }
  return out;
}

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
      for (let i = 0; i < value.length; i++) out.push({ value: value[i]!, where: { key, index: i } });
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
      const kind = MEDIA_TYPES[mediaType];
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
  let served: { kind: ManifestKind; mediaType: string };
  if (lastVersion === 1) served = { kind: 'schema1', mediaType: SCHEMA1_MEDIA_TYPE };
  else if (lastType !== undefined && lastType !== '') served = { kind: MEDIA_TYPES[lastType]!, mediaType: lastType };
  else if (Array.isArray(manifestsVariants[manifestsVariants.length - 1]?.value)) served = { kind: 'oci-index', mediaType: OCI_INDEX };
  else served = { kind: 'oci-manifest', mediaType: OCI_MANIFEST };
  if (!kinds.has(served.kind)) {
    // Only a display question (e.g. no media type, and the last `manifests`
    // is null while an earlier one is an array): show a kind whose refs are read.
    const kind = [...kinds][0]!;
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
    if (present.length === 0 && configs.length > 0 && onlyImage) reader.fail(`${configs[0]!.key} is null, not a descriptor object`);
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
