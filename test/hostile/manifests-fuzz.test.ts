// parseManifest on arbitrary input: it returns refs or throws a JanitorError
// (E_BAD_MANIFEST / E_UNKNOWN_MEDIA_TYPE), never a TypeError or RangeError.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JanitorError } from '../../src/errors.js';
import { JsonObject, UNREAD, type JsonValue, readJsonTree } from '../../src/model/go-json.js';
import { parseManifest } from '../../src/model/manifest.js';

const d = (n: number): string => 'sha256:' + n.toString(16).padStart(64, '0');
const KEYS = [
  'schemaVersion',
  'SchemaVersion',
  'mediaType',
  'MEDIATYPE',
  'config',
  'Config',
  'layers',
  'Layers',
  'layerſ',
  'manifests',
  'Manifests',
  'subject',
  'Subject',
  'fsLayers',
  'blobSum',
  'BlobSum',
  'digest',
  'Digest',
  'platform',
  'Platform',
  'os',
  'OS',
  'architecture',
  'variant',
  'size',
  'urls',
];
const MEDIA = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
  '',
  'application/x-other',
];

/** Manifest-shaped JSON text: the keys and values the parser looks at, nested, duplicated, in any case. */
const manifestText: fc.Arbitrary<string> = fc.letrec<{ value: string; object: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom('null', 'true', '1', '2', '3', '-0.5e2', '"x"', `"${d(1)}"`, `"${d(2)}"`, '"sha256:short"', ...MEDIA.map((m) => JSON.stringify(m))),
    fc.array(tie('value'), { maxLength: 3 }).map((items) => `[${items.join(',')}]`),
    tie('object'),
  ),
  object: fc
    .array(fc.tuple(fc.constantFrom(...KEYS), tie('value')), { maxLength: 6 })
    .map((members) => `{${members.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
})).object;

function expectRefsOrJanitorError(bytes: Uint8Array): void {
  try {
    const refs = parseManifest(bytes, '/fuzz/data');
    expect(Array.isArray(refs.blobs) && Array.isArray(refs.children) && Array.isArray(refs.subjects)).toBe(true);
    expect(refs.platforms).toHaveLength(refs.children.length);
  } catch (error) {
    if (!(error instanceof JanitorError)) throw error;
    expect(['E_BAD_MANIFEST', 'E_UNKNOWN_MEDIA_TYPE']).toContain(error.code);
    expect(error.message).toContain('/fuzz/data');
  }
}

/** A readJsonTree value as JSON.parse would give it (last duplicate wins). */
function toPlain(value: JsonValue): unknown {
  if (value instanceof JsonObject) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of value.members) {
      if (k === '__proto__') Object.defineProperty(out, k, { value: toPlain(v), enumerable: true, configurable: true, writable: true });
      else out[k] = toPlain(v);
    }
    return out;
  }
  if (Array.isArray(value)) return value.map(toPlain);
  return value === UNREAD ? 'UNREAD' : value;
}

describe('parseManifest never throws anything but a JanitorError', () => {
  it('on manifest-shaped documents (case variants, duplicates, wrong types)', () => {
    fc.assert(
      fc.property(manifestText, (text) => expectRefsOrJanitorError(Buffer.from(text))),
      { numRuns: 3000 },
    );
  });

  it('on arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => expectRefsOrJanitorError(Buffer.from(JSON.stringify(value)))),
      { numRuns: 2000 },
    );
  });

  it('on arbitrary bytes and strings', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          fc.string().map((s) => Buffer.from(s)),
        ),
        (bytes) => expectRefsOrJanitorError(bytes),
      ),
      { numRuns: 2000 },
    );
  });

  it('readJsonTree agrees with JSON.parse on shallow JSON (whitespace and escapes included)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.boolean(), (value, pretty) => {
        const text = JSON.stringify(value, null, pretty ? 2 : undefined);
        expect(toPlain(readJsonTree(text))).toEqual(JSON.parse(text));
      }),
      { numRuns: 2000 },
    );
  });
});
