// The compact record of every blob on disk and of every digest the mark phase
// reached. A JS Set of digest strings costs ~100 bytes an entry and V8 caps a
// Set at 2^24 (16.7M) entries, short of the 20M blobs the tool must handle.
//
// Blobs are listed one fan-out shard (blobs/<alg>/<xx>/) at a time, so each
// shard gets a sorted array of its digests' raw bytes, sized exactly for its
// listing: the first byte is the shard's name and is not stored, so 31 key
// bytes + 1 flag byte per sha256 blob, 32 MB at 1M blobs (0.64 GB at 20M),
// against 41 bytes a blob for the open-addressing table this replaced (load
// factor 0.8). A lookup is a binary search of the shard: ~12 steps at 1M
// blobs (~3,900 a shard), most decided by the first byte compared.
// Digests that are marked but have no blob on disk (the reference counts them
// as marked too) are rare and live in a plain Set.

import { type Algorithm, type Digest, HEX_LENGTH } from './digest.js';

const EXISTS = 1;
const MARKED = 2;
const SHARDS = 256;

// Each character code's value as a hex digit, 16 for anything else.
// Uppercase is read as lowercase, as Buffer.write(hex, 'hex') did before
// this. No digest in capitals reaches the index today (parseDigest and
// makeDigest refuse them: a manifest naming one does not parse); if one
// ever does, it keeps the blob of the same bytes rather than lose it.
const HEX_VALUE = new Uint8Array(128).fill(16);
for (let c = 0; c < 10; c++) HEX_VALUE[48 + c] = c;
for (let c = 0; c < 6; c++) HEX_VALUE[65 + c] = HEX_VALUE[97 + c] = 10 + c;

/**
 * Writes the hex from `start` to the end of `text` into `into` as bytes,
 * from its byte `at`; false at any other character. Each shard's keys and
 * each lookup's digest are decoded here: Buffer.write(hex, 'hex') crosses
 * into C++ for it; this way the mark phase of gc -d on the many-small 100k
 * tree took 1.90 s against 2.11 s (medians of 5, with the lookups' other
 * allocations gone too).
 */
function decodeHex(text: string, start: number, into: Buffer, at = 0): boolean {
  for (let i = start, to = at; i < text.length; i += 2, to++) {
    const high = HEX_VALUE[text.charCodeAt(i)] ?? 16;
    const low = HEX_VALUE[text.charCodeAt(i + 1)] ?? 16;
    if ((high | low) > 15) return false;
    into[to] = (high << 4) | low;
  }
  return true;
}

class ShardTable {
  /** bytes a key holds: the digest's, less the first (the shard's name). */
  readonly keyLength: number;
  readonly count: number;
  readonly keys: Buffer;
  readonly flags: Uint8Array;
  /** the ordinal of its first blob (BlobIndex.ordinalOf), set when the shards are numbered. */
  firstOrdinal = 0;

  /** `hexes`: the shard's digests as lowercase hex, in any order, duplicates allowed. */
  constructor(algorithm: Algorithm, hexes: readonly string[]) {
    // Lowercase hex sorts as its bytes do ('0'-'9' before 'a'-'f').
    const sorted = [...hexes].sort();
    this.keyLength = HEX_LENGTH[algorithm] / 2 - 1;
    const keys = Buffer.alloc(sorted.length * this.keyLength);
    let count = 0;
    let previous: string | undefined;
    for (const hex of sorted) {
      if (hex === previous) continue;
      previous = hex;
      // Listed names and plan digests are checked hex before they come here (scan-blobs.ts, plan-file.ts).
      if (hex.length !== HEX_LENGTH[algorithm] || !decodeHex(hex, 2, keys, count * this.keyLength)) throw new Error(`not a ${algorithm} digest: ${hex}`);
      count++;
    }
    this.count = count;
    this.keys = keys;
    this.flags = new Uint8Array(count).fill(EXISTS);
  }

  /** The position of the digest whose bytes start at `offset` in `digest` (that byte is the shard's), or -1. */
  indexOf(digest: Uint8Array, offset = 0): number {
    const { keys, keyLength } = this;
    const first = offset + 1;
    let low = 0;
    let high = this.count - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const base = middle * keyLength;
      let order = 0;
      for (let i = 0; i < keyLength; i++) {
        const stored = keys[base + i] ?? 0;
        const sought = digest[first + i] ?? 0;
        if (stored !== sought) {
          order = stored < sought ? -1 : 1;
          break;
        }
      }
      if (order === 0) return middle;
      if (order < 0) low = middle + 1;
      else high = middle - 1;
    }
    return -1;
  }

  /** The hex of the digest at `position`, after the shard's two characters. */
  hexAfterShard(position: number): string {
    return this.keys.toString('hex', position * this.keyLength, (position + 1) * this.keyLength);
  }
}

const NO_TABLE = new ShardTable('sha256', []);

export class BlobIndex {
  /** per algorithm, the table of each shard by its byte (0-255); a shard not on disk has none. */
  private readonly tables = new Map<Algorithm, (ShardTable | undefined)[]>();
  private readonly scratch = Buffer.alloc(64);
  private readonly missingMarked = new Set<string>();
  private existing = 0;
  private markedExisting = 0;
  /** the table the last locate() looked in. */
  private found = NO_TABLE;
  /** whether each table's firstOrdinal is current (a shard added since renumbers them). */
  private numbered = false;

  /** Records the blobs of one shard: `hexes` are the directory names listed there. */
  addShard(algorithm: Algorithm, prefix: string, hexes: readonly string[]): void {
    let shards = this.tables.get(algorithm);
    if (!shards) this.tables.set(algorithm, (shards = new Array<ShardTable | undefined>(SHARDS).fill(undefined)));
    const table = new ShardTable(algorithm, hexes);
    const byte = Number.parseInt(prefix, 16);
    // A shard listed again replaces its table, marks and all (no caller
    // does it after marking; the counts stay true if one ever does).
    const replaced = shards[byte];
    if (replaced) {
      this.existing -= replaced.count;
      for (const flags of replaced.flags) if ((flags & MARKED) !== 0) this.markedExisting--;
    }
    this.existing += table.count;
    shards[byte] = table;
    this.numbered = false;
  }

  /**
   * A number for each existing blob, 0 to blobCount - 1 in digest order,
   * or -1 for a digest with no blob: for arrays of per-blob figures beside
   * the index, 4 to 8 bytes a blob where a Map keyed by digest costs ~150
   * (ls's counts and sizes). Adding a shard renumbers them.
   */
  ordinalOf(digest: Digest): number {
    if (!this.numbered) {
      let next = 0;
      for (const [, , table] of this.shardsInOrder()) {
        table.firstOrdinal = next;
        next += table.count;
      }
      this.numbered = true;
    }
    const position = this.locate(digest);
    return position < 0 ? -1 : this.found.firstOrdinal + position;
  }

  /**
   * The existing blobs whose ordinal `wanted` accepts, as digests, in
   * digest order (their ordinals' order); made as they are taken.
   */
  existingDigests(wanted: (ordinal: number) => boolean): Generator<Digest> {
    return this.digestsWhere((_table, _position, ordinal) => wanted(ordinal));
  }

  get blobCount(): number {
    return this.existing;
  }

  /** Distinct digests marked, whether or not their blob exists (the reference's count). */
  get markedCount(): number {
    return this.markedExisting + this.missingMarked.size;
  }

  has(digest: Digest): boolean {
    return this.locate(digest) >= 0;
  }

  isMarked(digest: Digest): boolean {
    const position = this.locate(digest);
    return position >= 0 ? ((this.found.flags[position] ?? 0) & MARKED) !== 0 : this.missingMarked.has(digest);
  }

  /** True when the blob exists and is marked: it stays after the sweep. */
  survives(digest: Digest): boolean {
    const position = this.locate(digest);
    return position >= 0 && this.found.flags[position] === (EXISTS | MARKED);
  }

  /**
   * The blob of the sha256 digest whose 32 bytes start at `offset` in
   * `bytes`: it stays (exists, marked), goes (exists, unmarked) or is
   * missing from the inventory. The plan's layer-link check, without a
   * digest string made for each link (~1M on the 1M-blob bench tree).
   */
  sha256Fate(bytes: Uint8Array, offset: number): 'stays' | 'goes' | 'missing' {
    const position = this.locateBytes(this.tables.get('sha256'), bytes, offset);
    if (position < 0) return 'missing';
    return this.found.flags[position] === (EXISTS | MARKED) ? 'stays' : 'goes';
  }

  mark(digest: Digest): void {
    const position = this.locate(digest);
    if (position < 0) {
      this.missingMarked.add(digest);
      return;
    }
    const { flags } = this.found;
    const was = flags[position] ?? 0;
    if ((was & MARKED) === 0) {
      flags[position] = was | MARKED;
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
   * unmarked under -m) were ~1 GB of strings. A table is sorted, so they
   * come in digest order.
   */
  *unmarkedShards(): Generator<[Algorithm, string, string[]]> {
    for (const [algorithm, prefix, table] of this.shardsInOrder()) {
      const hexes: string[] = [];
      for (let position = 0; position < table.count; position++) {
        if (table.flags[position] === EXISTS) hexes.push(prefix + table.hexAfterShard(position));
      }
      if (hexes.length > 0) yield [algorithm, prefix, hexes];
    }
  }

  /** Calls `visit` for each existing blob that is marked (in digest order). */
  forEachMarkedExisting(visit: (digest: Digest) => void): void {
    for (const digest of this.digestsWhere((table, position) => table.flags[position] === (EXISTS | MARKED))) visit(digest);
  }

  /** Calls `visit` for each existing blob not marked, in digest order. */
  forEachUnmarked(visit: (digest: Digest) => void): void {
    this.forEachUnmarkedShard((algorithm, _prefix, hexes) => {
      for (const hex of hexes) visit(`${algorithm}:${hex}` as Digest);
    });
  }

  /** Every existing blob `keep` accepts (by its table and position there, or its ordinal), as digests in digest order, made as they are taken. */
  private *digestsWhere(keep: (table: ShardTable, position: number, ordinal: number) => boolean): Generator<Digest> {
    let ordinal = 0;
    for (const [algorithm, prefix, table] of this.shardsInOrder()) {
      for (let position = 0; position < table.count; position++, ordinal++) {
        if (keep(table, position, ordinal)) yield `${algorithm}:${prefix}${table.hexAfterShard(position)}` as Digest;
      }
    }
  }

  /** Every shard with a table: algorithms by name, shards by prefix. */
  private *shardsInOrder(): Generator<[Algorithm, string, ShardTable]> {
    for (const algorithm of [...this.tables.keys()].sort()) {
      const shards = this.tables.get(algorithm) ?? [];
      for (let byte = 0; byte < SHARDS; byte++) {
        const table = shards[byte];
        if (table) yield [algorithm, byte.toString(16).padStart(2, '0'), table];
      }
    }
  }

  /** The digest's position in its shard's table (which this.found is then), or -1. */
  private locate(digest: Digest): number {
    const colon = digest.indexOf(':');
    const algorithm = digest.slice(0, colon) as Algorithm;
    const shards = this.tables.get(algorithm);
    if (!shards || digest.length - colon - 1 !== HEX_LENGTH[algorithm] || !decodeHex(digest, colon + 1, this.scratch)) return -1;
    return this.locateBytes(shards, this.scratch, 0);
  }

  /** locate, for the digest whose bytes start at `offset` in `bytes`, among one algorithm's `shards`. */
  private locateBytes(shards: readonly (ShardTable | undefined)[] | undefined, bytes: Uint8Array, offset: number): number {
    const table = shards?.[bytes[offset] ?? 0];
    if (!table) return -1;
    this.found = table;
    return table.indexOf(bytes, offset);
  }
}
