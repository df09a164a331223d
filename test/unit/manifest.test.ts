import { describe, expect, it } from 'vitest';
import { JanitorError } from '../../src/errors.js';
import { JsonObject, UNREAD, foldKey, readJsonTree } from '../../src/model/go-json.js';
import { parseManifest } from '../../src/model/manifest.js';

const d = (n: number): string => 'sha256:' + n.toString(16).padStart(64, '0');
const parse = (doc: unknown) => parseManifest(Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc)), '/m/data');
const S2 = 'application/vnd.docker.distribution.manifest.v2+json';
const LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const desc = (n: number): string => `{"mediaType":"x","digest":"${d(n)}","size":1}`;

describe('manifest kinds', () => {
  it('schema1 references its fsLayers', () => {
    const m = parse({ schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [{ blobSum: d(1) }, { blobSum: d(1) }, { blobSum: d(2) }] });
    expect(m.kind).toBe('schema1');
    expect(m.blobs).toEqual([d(1), d(1), d(2)]);
  });

  it('docker schema2 references config and layers, foreign layers included', () => {
    const m = parse({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { digest: d(1) },
      layers: [{ digest: d(2), urls: ['https://x'] }],
    });
    expect(m).toMatchObject({ kind: 'schema2', blobs: [d(1), d(2)], children: [] });
  });

  it('an OCI manifest without mediaType is recognised by its shape, with its subject', () => {
    const m = parse({ schemaVersion: 2, config: { digest: d(1) }, layers: [], subject: { digest: d(9) } });
    expect(m).toMatchObject({ kind: 'oci-manifest', blobs: [d(1)], subject: d(9), subjects: [d(9)] });
  });

  it('an OCI index without mediaType is recognised by its manifests array', () => {
    const m = parse({ schemaVersion: 2, manifests: [{ digest: d(3), platform: { architecture: 'arm64', os: 'linux' } }] });
    expect(m).toMatchObject({ kind: 'oci-index', children: [d(3)], platforms: [{ architecture: 'arm64', os: 'linux' }] });
  });

  it('a docker manifest list references its children', () => {
    const m = parse({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
      manifests: [{ digest: d(4) }, { digest: d(5) }],
    });
    expect(m).toMatchObject({ kind: 'list', children: [d(4), d(5)], blobs: [] });
  });

  it('refuses what it cannot account for', () => {
    expect(() => parse('{')).toThrow(/not valid JSON/);
    expect(() => parse([])).toThrow(/not a JSON object/);
    expect(() => parse({ schemaVersion: 3 })).toThrow(/schemaVersion 3/);
    expect(() => parse({ schemaVersion: 2, mediaType: 'application/vnd.oci.artifact.manifest.v1+json', blobs: [] })).toThrow(/unknown manifest media type/);
    expect(() => parse({ schemaVersion: 2 })).toThrow(/neither a config nor a manifests array/);
    expect(() => parse({ schemaVersion: 2, config: { digest: 'sha256:short' } })).toThrow(/config\.digest is not a valid digest/);
    expect(() => parse({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: {} })).toThrow(
      /manifests is an object, not an array/,
    );
  });
});

// Go's encoding/json (the registry's decoder) matches keys case-insensitively;
// 2.8.2 accepts every shape below (test/hostile/manifests-case-variants.test.ts).
describe('keys in any letter case, and every variant of a key', () => {
  it('reads Config / Layers / Digest in any case', () => {
    const m = parse(`{"schemaVersion":2,"mediaType":"${S2}","Config":{"DIGEST":"${d(1)}"},"Layers":[{"Digest":"${d(2)}"},{"dIgEsT":"${d(3)}"}]}`);
    expect(m).toMatchObject({ kind: 'schema2', blobs: [d(1), d(2), d(3)] });
  });

  it('reads a list under "Manifests" and an index under "MANIFESTS", platforms in any case', () => {
    const list = parse(
      `{"SchemaVersion":2,"MediaType":"${LIST}","Manifests":[{"digest":"${d(4)}","Platform":{"OS":"linux","Architecture":"arm","VARIANT":"v7"}}]}`,
    );
    expect(list).toMatchObject({ kind: 'list', children: [d(4)], platforms: [{ os: 'linux', architecture: 'arm', variant: 'v7' }] });
    const index = parse(`{"schemaVersion":2,"MANIFESTS":[{"digest":"${d(5)}"}]}`);
    expect(index).toMatchObject({ kind: 'oci-index', mediaType: OCI_INDEX, children: [d(5)] });
  });

  it('marks the union of "layers" and "Layers", and of two identical "layers" keys (JSON.parse sees only the last)', () => {
    const m = parse(`{"schemaVersion":2,"mediaType":"${S2}","config":${desc(1)},"layers":[${desc(2)}],"Layers":[${desc(3)}],"layers":[${desc(4)}]}`);
    expect(m.blobs).toEqual([d(1), d(2), d(3), d(4)]);
  });

  it('marks every digest variant of one descriptor, duplicates included', () => {
    const m = parse(`{"schemaVersion":2,"mediaType":"${S2}","config":{"digest":"${d(1)}","Digest":"${d(2)}","digest":"${d(3)}"},"layers":[]}`);
    expect(m.blobs).toEqual([d(1), d(2), d(3)]);
  });

  it('folds U+017F (long s) and escaped keys as Go does', () => {
    expect(foldKey('LAYERſ')).toBe('layers');
    const m = parse(`{"schemaVersion":2,"mediaType":"${S2}","config":${desc(1)},"layerſ":[${desc(2)}],"\\u006cayers":[${desc(3)}]}`);
    expect(m.blobs).toEqual([d(1), d(2), d(3)]);
    expect(parse(`{"schemaVersion":2,"mediaType":"${S2}","config":${desc(1)},"layers":[],"ſubject":${desc(7)}}`).subjects).toEqual([d(7)]);
  });

  it('unions Subject variants, and fsLayers / blobSum variants', () => {
    const m = parse(`{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","config":${desc(1)},"Subject":${desc(8)},"subject":${desc(9)}}`);
    expect(m.subjects).toEqual([d(8), d(9)]);
    expect(m.subject).toBe(d(8));
    const s1 = parse(`{"schemaVersion":1,"FSLayers":[{"BlobSum":"${d(1)}","blobSum":"${d(2)}"}],"fsLayers":[{"blobsum":"${d(3)}"}]}`);
    expect(s1.blobs).toEqual([d(1), d(2), d(3)]);
  });

  it("media types that disagree: the union of the kinds, the registry's reading as the kind", () => {
    const m = parse(`{"schemaVersion":2,"mediaType":"${LIST}","MediaType":"${S2}","config":${desc(1)},"layers":[${desc(2)}],"manifests":[${desc(3)}]}`);
    expect(m).toMatchObject({ kind: 'schema2', mediaType: S2, blobs: [d(1), d(2)], children: [d(3)] });
    const s = parse(`{"schemaVersion":1,"SchemaVersion":2,"mediaType":"${S2}","fsLayers":[{"blobSum":"${d(5)}"}],"config":${desc(1)},"layers":[]}`);
    expect(s).toMatchObject({ kind: 'schema2', blobs: [d(5), d(1)] });
    // No media type, both shapes: the registry takes the index; both are marked.
    const both = parse(`{"schemaVersion":2,"manifests":[${desc(3)}],"config":${desc(1)},"layers":[${desc(2)}]}`);
    expect(both).toMatchObject({ kind: 'oci-index', blobs: [d(1), d(2)], children: [d(3)] });
  });

  it('a variant it cannot account for fails closed, naming the file', () => {
    expect(() => parse(`{"schemaVersion":2,"mediaType":"application/x-unknown","MediaType":"${S2}","config":${desc(1)}}`)).toThrow(
      /unknown manifest media type "application\/x-unknown" in \/m\/data/,
    );
    expect(() => parse(`{"schemaVersion":3,"schemaVersion":2,"mediaType":"${S2}","config":${desc(1)}}`)).toThrow(
      /\/m\/data: schemaVersion 3 is neither 1 nor 2/,
    );
  });

  it("a later variant of a field may lack a digest (Go keeps the earlier element's), a lone one may not", () => {
    const m = parse(`{"schemaVersion":2,"mediaType":"${S2}","config":${desc(1)},"layers":[${desc(2)}],"layers":[{"size":3}]}`);
    expect(m.blobs).toEqual([d(1), d(2)]);
    expect(() => parse(`{"schemaVersion":2,"mediaType":"${S2}","config":${desc(1)},"layers":[{"size":3}]}`)).toThrow(
      /layers entry has no valid digest \(layers\[0\]\)/,
    );
  });
});

describe('malformed manifests: one E_BAD_MANIFEST naming the file and the field', () => {
  const cases: [string, string, RegExp][] = [
    ['layers a string', `{"schemaVersion":2,"mediaType":"${S2}","config":${desc(1)},"layers":"x"}`, /layers is string, not an array/],
    ['Layers a number', `{"schemaVersion":2,"mediaType":"${S2}","config":${desc(1)},"Layers":4}`, /Layers is number, not an array/],
    ['config null', `{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","config":null,"layers":[]}`, /config is null, not a descriptor object/],
    ['config a string', `{"schemaVersion":2,"mediaType":"${S2}","config":"x"}`, /config is string, not a descriptor object/],
    ['a manifests entry null', `{"schemaVersion":2,"mediaType":"${LIST}","manifests":[null]}`, /manifests\[0\] is null, not a descriptor object/],
    [
      'a manifests entry a number',
      `{"schemaVersion":2,"mediaType":"${OCI_INDEX}","Manifests":[${desc(1)},7]}`,
      /Manifests\[1\] is number, not a descriptor object/,
    ],
    [
      'platform a string',
      `{"schemaVersion":2,"mediaType":"${LIST}","manifests":[{"digest":"${d(1)}","platform":"linux"}]}`,
      /manifests\[0\]\.platform is string, not an object/,
    ],
    [
      'platform.os a number',
      `{"schemaVersion":2,"mediaType":"${LIST}","manifests":[{"digest":"${d(1)}","platform":{"OS":1}}]}`,
      /manifests\[0\]\.platform\.OS is number, not a string/,
    ],
    ['digest a number', `{"schemaVersion":2,"mediaType":"${S2}","config":{"digest":5}}`, /config\.digest is not a valid digest/],
    ['subject an array', `{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","config":${desc(1)},"subject":[]}`, /subject is an array, not a descriptor object/],
    ['fsLayers entry a string', `{"schemaVersion":1,"fsLayers":["x"]}`, /fsLayers\[0\] is string, not an object/],
    ['blobSum missing', `{"schemaVersion":1,"fsLayers":[{}]}`, /fsLayers entry has no valid blobSum \(fsLayers\[0\]\)/],
    ['mediaType a number', `{"schemaVersion":2,"mediaType":2,"config":${desc(1)}}`, /mediaType is number, not a string/],
    ['schemaVersion a string', `{"schemaVersion":"2"}`, /schemaVersion "2" is neither 1 nor 2/],
    ['null', 'null', /not a JSON object/],
    [
      'deep nesting',
      `{"schemaVersion":2,"mediaType":"${S2}","config":${desc(1)},"layers":${'['.repeat(5000)}${']'.repeat(5000)}}`,
      /layers\[0\] is an array, not a descriptor object/,
    ],
  ];
  for (const [label, text, message] of cases) {
    it(label, () => {
      let caught: unknown;
      try {
        parse(text);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(JanitorError);
      expect((caught as JanitorError).code).toBe('E_BAD_MANIFEST');
      expect((caught as JanitorError).message).toMatch(/^unparsable manifest \/m\/data: /);
      expect((caught as JanitorError).message).toMatch(message);
      expect((caught as JanitorError).message).not.toMatch(/\n/);
    });
  }
});

describe('readJsonTree', () => {
  it('keeps duplicate keys in order, decodes escapes, stops building below depth 4', () => {
    const tree = readJsonTree(' {"a":1,"a":[true,false,null,-1.5e3,"x\\"y"],"\\u0062":{"c":{"d":{"e":{"f":{"g":1}}}}}} ');
    expect(tree).toBeInstanceOf(JsonObject);
    const members = (tree as JsonObject).members;
    expect(members.map(([k]) => k)).toEqual(['a', 'a', 'b']);
    expect(members[1]![1]).toEqual([true, false, null, -1500, 'x"y']);
    const e = (((members[2]![1] as JsonObject).members[0]![1] as JsonObject).members[0]![1] as JsonObject).members[0]![1] as JsonObject;
    expect(e.members[0]![1]).toBe(UNREAD);
  });
});
