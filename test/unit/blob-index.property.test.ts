// BlobIndex (model/blob-index.ts) against a model of plain Sets: random
// shards of random digests (duplicates in a listing, shards of one digest,
// a shard listed again), marks of digests on disk and not, of another
// algorithm and of a malformed hex. Every query, count and enumeration must
// agree with the model, the enumerations in digest order.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BlobIndex } from '../../src/model/blob-index.js';
import type { Algorithm, Digest } from '../../src/model/digest.js';

const hexOf = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const sha256Hex = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(hexOf);
// Few shard prefixes, so shards hold many digests and share leading bytes.
const inShard = (prefix: string): fc.Arbitrary<string> => sha256Hex.map((hex) => prefix + hex.slice(2));
const prefix = fc.constantFrom('00', '01', '7f', 'ff');

describe('BlobIndex', () => {
  it('agrees with a Set model', () => {
    fc.assert(
      fc.property(
        fc.array(
          prefix.chain((p) => fc.tuple(fc.constant(p), fc.array(inShard(p), { maxLength: 40 }))),
          { maxLength: 6 },
        ),
        fc.array(fc.oneof(prefix.chain(inShard), sha256Hex), { maxLength: 60 }),
        fc.nat(),
        (shards, extraMarks, pick) => {
          const index = new BlobIndex();
          const onDisk = new Map<string, Set<string>>();
          for (const [p, hexes] of shards) {
            // A duplicated name, as a plan could carry twice.
            const listed = hexes.length > 0 ? [...hexes, hexes[pick % hexes.length]!] : hexes;
            index.addShard('sha256', p, listed);
            onDisk.set(p, new Set(hexes)); // listed again: the new listing replaces the old
          }
          const existing = new Set([...onDisk.values()].flatMap((set) => [...set]));
          const all = [...existing];
          // Mark every third digest on disk, and the extra ones (mostly not on disk).
          const marks = [...all.filter((_, i) => i % 3 === pick % 3), ...extraMarks];
          for (const hex of marks) index.mark(`sha256:${hex}` as Digest);
          index.mark('sha512:00' as Digest);
          index.mark(`sha256:${all[0] ?? '00'}`.slice(0, -2) as Digest);
          const marked = new Set(marks);

          expect(index.blobCount).toBe(existing.size);
          const markedExisting = [...existing].filter((hex) => marked.has(hex));
          const markedMissing = [...marked].filter((hex) => !existing.has(hex));
          // The two malformed marks count as marked digests without a blob, as the reference counts them.
          expect(index.markedCount).toBe(markedExisting.length + markedMissing.length + 2);
          expect(index.unmarkedCount).toBe(existing.size - markedExisting.length);
          for (const hex of [...existing, ...extraMarks]) {
            const digest = `sha256:${hex}` as Digest;
            expect(index.has(digest)).toBe(existing.has(hex));
            expect(index.isMarked(digest)).toBe(marked.has(hex));
            expect(index.survives(digest)).toBe(existing.has(hex) && marked.has(hex));
            // The same answer from the digest's bytes, at an offset inside a larger buffer.
            const bytes = Buffer.concat([Buffer.alloc(5, 0xff), Buffer.from(hex, 'hex')]);
            expect(index.sha256Fate(bytes, 5)).toBe(!existing.has(hex) ? 'missing' : marked.has(hex) ? 'stays' : 'goes');
          }
          expect(index.has(`sha512:${'0'.repeat(128)}` as Digest)).toBe(false);
          // Capitals name the same bytes (kept, never a reason to delete); any other character names nothing.
          for (const hex of all.slice(0, 3)) {
            expect(index.has(`sha256:${hex.toUpperCase()}` as Digest)).toBe(true);
            expect(index.has(`sha256:${hex.slice(0, -1)}g` as Digest)).toBe(false);
          }

          const unmarked = [...existing].filter((hex) => !marked.has(hex)).sort();
          const seen: string[] = [];
          for (const [algorithm, shard, hexes] of index.unmarkedShards()) {
            expect(algorithm).toBe<Algorithm>('sha256');
            for (const hex of hexes) expect(hex.slice(0, 2)).toBe(shard);
            seen.push(...hexes);
          }
          expect(seen).toEqual(unmarked);
          const visited: string[] = [];
          index.forEachUnmarked((digest) => visited.push(digest));
          expect(visited).toEqual(unmarked.map((hex) => `sha256:${hex}`));
          const kept: string[] = [];
          index.forEachMarkedExisting((digest) => kept.push(digest));
          expect(kept).toEqual(markedExisting.sort().map((hex) => `sha256:${hex}`));

          // Ordinals: 0 to blobCount - 1 in digest order, -1 without a blob; existingDigests in the same order.
          const inOrder = [...existing].sort();
          inOrder.forEach((hex, ordinal) => expect(index.ordinalOf(`sha256:${hex}` as Digest)).toBe(ordinal));
          for (const hex of extraMarks) if (!existing.has(hex)) expect(index.ordinalOf(`sha256:${hex}` as Digest)).toBe(-1);
          expect(index.ordinalOf(`sha512:${'0'.repeat(128)}` as Digest)).toBe(-1);
          expect([...index.existingDigests(() => true)]).toEqual(inOrder.map((hex) => `sha256:${hex}`));
          expect([...index.existingDigests((ordinal) => ordinal % 2 === 1)]).toEqual(inOrder.filter((_, i) => i % 2 === 1).map((hex) => `sha256:${hex}`));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps its counts when a shard is listed again after marks', () => {
    const [a, b, c] = ['ab01', 'ab02', 'ab03'].map((start) => start.padEnd(64, '0'));
    const index = new BlobIndex();
    index.addShard('sha256', 'ab', [a!, b!]);
    index.mark(`sha256:${a}` as Digest);
    index.addShard('sha256', 'ab', [a!, c!]);
    expect(index.blobCount).toBe(2);
    expect(index.unmarkedCount).toBe(2);
    expect([...index.unmarkedShards()].flatMap(([, , hexes]) => hexes)).toEqual([a, c]);
  });

  it('numbers the blobs again when a shard is added after they were numbered', () => {
    const [a, b] = ['ab01', 'cd01'].map((start) => start.padEnd(64, '0'));
    const early = '0101'.padEnd(64, '0');
    const index = new BlobIndex();
    index.addShard('sha256', 'ab', [a!]);
    index.addShard('sha256', 'cd', [b!]);
    expect(index.ordinalOf(`sha256:${b}` as Digest)).toBe(1);
    index.addShard('sha256', '01', [early]);
    expect([early, a, b].map((hex) => index.ordinalOf(`sha256:${hex}` as Digest))).toEqual([0, 1, 2]);
  });

  it('finds every one of 20,000 digests in one shard, and none of 20,000 others', () => {
    const present = Array.from({ length: 20_000 }, (_, i) => `ab${i.toString(16).padStart(62, '0')}`);
    const onDisk = new Set(present);
    const absent = present.map((hex) => `ab${hex.slice(2, -1)}${hex.endsWith('f') ? 'e' : 'f'}`.replace(/^ab0/, 'ab1')).filter((hex) => !onDisk.has(hex));
    const index = new BlobIndex();
    index.addShard('sha256', 'ab', [...present].reverse());
    for (const hex of present) expect(index.has(`sha256:${hex}` as Digest)).toBe(true);
    for (const hex of absent.slice(0, 2_000)) expect(index.has(`sha256:${hex}` as Digest)).toBe(false);
  });
});
