// DigestList (model/digest-list.ts) holds the deletion lists of every
// repository: sha256 digests packed as raw bytes in a buffer allocated at
// the first push and doubled as it fills, anything else kept as strings.
// Every length across the first allocation and two doublings comes back
// exactly, in order, sha256 first.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Digest } from '../../src/model/digest.js';
import { DigestList, SHA256_BYTES, sha256DigestAt } from '../../src/model/digest-list.js';

const sha256 = (n: number): Digest => `sha256:${createHash('sha256').update(String(n)).digest('hex')}` as Digest;
const sha512 = (n: number): Digest => `sha512:${createHash('sha512').update(String(n)).digest('hex')}` as Digest;

describe('DigestList', () => {
  it('is empty until the first push', () => {
    const list = new DigestList();
    expect(list.length).toBe(0);
    expect([...list]).toEqual([]);
  });

  it.each([1, 15, 16, 17, 32, 33, 100])('gives back %i sha256 digests in order', (count) => {
    const list = new DigestList();
    const pushed = Array.from({ length: count }, (_, i) => sha256(i));
    for (const digest of pushed) list.push(digest);
    expect(list.length).toBe(count);
    expect([...list]).toEqual(pushed);
  });

  it('keeps other algorithms beside the packed ones, after them', () => {
    const list = new DigestList();
    list.push(sha512(1));
    list.push(sha256(1));
    list.push(sha512(2));
    list.push(sha256(2));
    expect(list.length).toBe(4);
    expect([...list]).toEqual([sha256(1), sha256(2), sha512(1), sha512(2)]);
  });

  it('toPlain and pushSha256Bytes carry a list to another list exactly, packed bytes compact', () => {
    const pushed = [...Array.from({ length: 40 }, (_, i) => sha256(i)), sha512(1), sha512(2)];
    const list = DigestList.of(pushed);
    const plain = list.toPlain();
    // Compact: the bytes of 40 digests, not the list's doubled capacity (64).
    expect(plain.packed.byteLength).toBe(40 * SHA256_BYTES);
    expect(plain.packed.buffer.byteLength).toBe(40 * SHA256_BYTES);
    expect(plain.others).toEqual([sha512(1), sha512(2)]);
    const copy = new DigestList();
    for (let at = 0; at < plain.packed.length; at += SHA256_BYTES) {
      expect(sha256DigestAt(plain.packed, at)).toBe(pushed[at / SHA256_BYTES]);
      if (at !== 17 * SHA256_BYTES) copy.pushSha256Bytes(plain.packed, at);
    }
    expect([...copy]).toEqual(pushed.slice(0, 40).filter((_, i) => i !== 17));
    expect([...list]).toEqual(pushed);
    expect(new DigestList().toPlain()).toEqual({ packed: new Uint8Array(0), others: [] });
  });

  it('has no shared state between lists', () => {
    const a = new DigestList();
    const b = new DigestList();
    a.push(sha256(1));
    expect([...b]).toEqual([]);
    b.push(sha256(2));
    expect([...a]).toEqual([sha256(1)]);
    expect([...b]).toEqual([sha256(2)]);
  });
});
