// The compact record of every blob on disk and of every digest the mark phase
// reached. A JS Set of digest strings costs ~100 bytes an entry and V8 caps a
// Set at 2^24 (16.7M) entries, short of the 20M blobs the tool must handle.
//
// Blobs are listed one fan-out shard (blobs/<alg>/<xx>/) at a time, so each
// shard gets an open-addressing table of raw digest bytes sized exactly for
// its listing at load factor 0.8 and never grows: 32 key bytes + 1 flag byte
// per slot, ~41 bytes per sha256 blob (41 MB at 1M blobs, 0.83 GB at 20M);
// linear probing at 0.8 averages 3 probes per hit.
// Digests that are marked but have no blob on disk (the reference counts them
// as marked too) are rare and live in a plain Set.

import { type Algorithm, type Digest, HEX_LENGTH, shardOf, splitDigest } from './digest.js';

const EXISTS = 1;
const MARKED = 2;
const LOAD_FACTOR = 0.8;

class ShardTable {
  readonly keyLength: number;
  readonly capacity: number;
  readonly keys: Buffer;
  readonly flags: Uint8Array;

  constructor(keyLength: number, entries: number) {
    this.keyLength = keyLength;
    this.capacity = Math.max(4, Math.ceil(entries / LOAD_FACTOR));
    this.keys = Buffer.alloc(this.capacity * keyLength);
    this.flags = new Uint8Array(this.capacity);
  }

  /** Slot holding `key` or the empty slot where it would go. */
  slotOf(key: Buffer): number {
    // Byte 0 is the shard prefix (the same for every key here); bytes 1-4
    // of a cryptographic digest are uniformly distributed.
    let slot = key.readUInt32BE(1) % this.capacity;
    const { keys, flags, keyLength } = this;
    for (;;) {
      if (flags[slot] === 0) return slot;
      const base = slot * keyLength;
      let same = true;
      for (let i = 0; i < keyLength; i++) {
        if (keys[base + i] !== key[i]) {
          same = false;
          break;
        }
      }
      if (same) return slot;
      slot = slot + 1 === this.capacity ? 0 : slot + 1;
    }
  }
}

export class BlobIndex {
  private readonly tables = new Map<string, ShardTable>();
  private readonly scratch = Buffer.alloc(64);
  private readonly missingMarked = new Set<string>();
  private existing = 0;
  private markedExisting = 0;

  /** Records the blobs of one shard: `hexes` are the directory names listed there. */
  addShard(algorithm: Algorithm, prefix: string, hexes: readonly string[]): void {
    const table = new ShardTable(HEX_LENGTH[algorithm] / 2, hexes.length);
    this.tables.set(`${algorithm}/${prefix}`, table);
    for (const hex of hexes) {
      const key = this.keyOf(hex);
      const slot = table.slotOf(key);
      if (table.flags[slot] === 0) {
        key.copy(table.keys, slot * table.keyLength, 0, table.keyLength);
        table.flags[slot] = EXISTS;
        this.existing++;
      }
    }
  }

  get blobCount(): number {
    return this.existing;
  }

  /** Distinct digests marked, whether or not their blob exists (the reference's count). */
  get markedCount(): number {
    return this.markedExisting + this.missingMarked.size;
  }

  has(digest: Digest): boolean {
    return this.flagsOf(digest) !== 0;
  }

  isMarked(digest: Digest): boolean {
    return (this.flagsOf(digest) & MARKED) !== 0 || this.missingMarked.has(digest);
  }

  /** True when the blob exists and is marked: it stays after the sweep. */
  survives(digest: Digest): boolean {
    return this.flagsOf(digest) === (EXISTS | MARKED);
  }

  mark(digest: Digest): void {
    const found = this.locate(digest);
    if (!found) {
      this.missingMarked.add(digest);
      return;
    }
    const { table, slot } = found;
    const flags = table.flags[slot] ?? 0;
    if ((flags & MARKED) === 0) {
      table.flags[slot] = flags | MARKED;
      this.markedExisting++;
    }
  }

  markAll(digests: Iterable<Digest>): void {
    for (const digest of digests) this.mark(digest);
  }

  /** Existing blobs not marked. */
  get unmarkedCount(): number {
    return this.existing - this.markedExisting;
  }

  /**
   * Calls `visit` once per shard with the hex names of its existing,
   * unmarked blobs, sorted: shards in order, so the whole is in digest
   * order and output can stream without holding the list.
   */
  forEachUnmarkedShard(visit: (algorithm: Algorithm, prefix: string, hexes: string[]) => void): void {
    for (const [algorithm, prefix, hexes] of this.unmarkedShards()) visit(algorithm, prefix, hexes);
  }

  /**
   * The unmarked blobs a shard at a time, each shard's hex strings made
   * only when it is reached: a consumer that takes them as it goes holds
   * one shard, where all of them at once on a 20M-blob tree (11.6M
   * unmarked under -m) were ~1 GB of strings.
   */
  *unmarkedShards(): Generator<[Algorithm, string, string[]]> {
    for (const [shard, table] of [...this.tables].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const slash = shard.indexOf('/');
      const hexes: string[] = [];
      for (let slot = 0; slot < table.capacity; slot++) {
        if (table.flags[slot] === EXISTS) hexes.push(table.keys.toString('hex', slot * table.keyLength, (slot + 1) * table.keyLength));
      }
      if (hexes.length > 0) yield [shard.slice(0, slash) as Algorithm, shard.slice(slash + 1), hexes.sort()];
    }
  }

  /** Calls `visit` for each existing blob that is marked (in no particular order). */
  forEachMarkedExisting(visit: (digest: Digest) => void): void {
    for (const [shard, table] of this.tables) {
      const algorithm = shard.slice(0, shard.indexOf('/'));
      for (let slot = 0; slot < table.capacity; slot++) {
        if (table.flags[slot] === (EXISTS | MARKED))
          visit(`${algorithm}:${table.keys.toString('hex', slot * table.keyLength, (slot + 1) * table.keyLength)}` as Digest);
      }
    }
  }

  /** Calls `visit` for each existing blob not marked, in digest order. */
  forEachUnmarked(visit: (digest: Digest) => void): void {
    this.forEachUnmarkedShard((algorithm, _prefix, hexes) => {
      for (const hex of hexes) visit(`${algorithm}:${hex}` as Digest);
    });
  }

  private keyOf(hex: string): Buffer {
    this.scratch.write(hex, 0, 'hex');
    return this.scratch;
  }

  private locate(digest: Digest): { table: ShardTable; slot: number } | undefined {
    const { algorithm, hex } = splitDigest(digest);
    const table = this.tables.get(`${algorithm}/${shardOf(hex)}`);
    if (!table) return undefined;
    const slot = table.slotOf(this.keyOf(hex));
    return table.flags[slot] === 0 ? undefined : { table, slot };
  }

  private flagsOf(digest: Digest): number {
    const found = this.locate(digest);
    return found ? (found.table.flags[found.slot] ?? 0) : 0;
  }
}
