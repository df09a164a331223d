// The trash manifest is read a chunk at a time, never whole: the line
// readers (storage/line-file.ts) against split('\n') at every awkward
// boundary, and trash restore / trash empty on a manifest of many chunks,
// through a FileSystem that records every read of it.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { FileSystem } from '../../src/storage/file-system.js';
import { forEachLine, forEachLineBackward } from '../../src/storage/line-file.js';
import { TRASH_MANIFEST, type TrashRecord, itemNameOf } from '../../src/storage/trash-manifest.js';
import { type MemFs, ROOT, listFiles, memTree } from '../support/memfs-tree.js';
import { runCliOn } from '../support/run-cli.js';

const TRASH = '/srv/trash';
const CHUNK = 64 * 1024;

function linesOf(fs: FileSystem, file: string): { forward: string[]; backward: string[]; firstFlags: boolean[] } {
  const forward: string[] = [];
  const backward: string[] = [];
  const firstFlags: boolean[] = [];
  forEachLine(fs, file, (line, number) => {
    expect(number).toBe(forward.length + 1);
    forward.push(line);
  });
  forEachLineBackward(fs, file, (line, first) => {
    backward.push(line);
    firstFlags.push(first);
  });
  return { forward, backward, firstFlags };
}

describe('line-file: chunked lines, both ways', () => {
  const euro = '€'; // 3 bytes in UTF-8
  const cases: [string, string][] = [
    ['an empty file', ''],
    ['one line without its newline', 'abc'],
    ['one line', 'abc\n'],
    ['empty lines', '\n\n\nx\n\n'],
    ['a line longer than three chunks', `head\n${'y'.repeat(3 * CHUNK + 17)}\ntail`],
    ['a newline exactly at a chunk boundary', `${'a'.repeat(CHUNK - 1)}\n${'b'.repeat(CHUNK - 1)}\nc`],
    // A 3-byte character across the boundary, going forward and going backward.
    ['a UTF-8 character across a chunk boundary', `${'a'.repeat(CHUNK - 1)}${euro}${euro}\n${'b'.repeat(10)}${euro}\n`],
    ['many short lines', Array.from({ length: 20_000 }, (_, i) => `{"n":${i},"s":"${euro.repeat(i % 7)}"}`).join('\n') + '\n'],
  ];
  for (const [label, text] of cases) {
    it(label, () => {
      const { fs } = memTree();
      fs.writeFileSync('/f', text);
      const { forward, backward, firstFlags } = linesOf(fs, '/f');
      const expected = text.split('\n');
      // Forward: a final empty piece after the last newline is no line.
      expect(forward).toEqual(text.endsWith('\n') || text === '' ? expected.slice(0, -1) : expected);
      // Backward: every piece, the last first; only the file's first line is flagged first.
      expect(backward).toEqual([...expected].reverse());
      expect(firstFlags.map((f, i) => (f ? i : -1)).filter((i) => i >= 0)).toEqual([expected.length - 1]);
    });
  }
});

/** A FileSystem over memfs that records each read call on the manifest (its length) and refuses to read it whole. */
function watched(fs: MemFs): { fs: FileSystem; reads: number[] } {
  const reads: number[] = [];
  const fds = new Set<number>();
  const wrapped: FileSystem = Object.create(fs) as FileSystem;
  Object.assign(wrapped, {
    openSync: (file: string, flags: number) => {
      const fd = fs.openSync(file, flags);
      if (file.endsWith(`/${TRASH_MANIFEST}`)) fds.add(fd);
      return fd;
    },
    closeSync: (fd: number) => {
      fds.delete(fd);
      fs.closeSync(fd);
    },
    readSync: (fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null) => {
      if (fds.has(fd)) reads.push(length);
      return fs.readSync(fd, buffer, offset, length, position);
    },
    readFileSync: (file: string, encoding: 'utf8') => {
      if (file.endsWith(TRASH_MANIFEST)) throw new Error('the manifest read whole');
      return fs.readFileSync(file, encoding);
    },
  });
  return { fs: wrapped, reads };
}

/** Records naming no item (a crash between record and rename), each a valid blob record: ~230 bytes a line. */
function absentRecords(count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const hex = createHash('sha256').update(`absent ${i}`).digest('hex');
    return JSON.stringify({
      id: `m0-1-abcdef-${i}`,
      kind: 'blob',
      path: `blobs/sha256/${hex.slice(0, 2)}/${hex}`,
      digest: `sha256:${hex}`,
      size: i,
      time: '2020-01-01T00:00:00.000Z',
    });
  });
}

function files(fs: MemFs): Map<string, string> {
  return new Map(listFiles(fs, ROOT).map((f) => [f, Buffer.from(fs.readFileSync(`${ROOT}/${f}`)).toString('hex')]));
}

describe('trash restore and trash empty read the manifest a chunk at a time', () => {
  const build = (): MemFs => {
    const mem = memTree();
    mem.tree.tag('app', 'v1', mem.tree.pushImage('app', { layers: ['base', 'v1'] }).digest);
    mem.tree.tag('app', 'latest', mem.tree.pushImage('app', { layers: ['base', 'old'] }).digest);
    mem.tree.tag('app', 'latest', mem.tree.pushImage('app', { layers: ['base', 'new'] }).digest);
    for (let i = 0; i < 20; i++) mem.tree.putBlob(`orphan ${i}`);
    mem.fs.mkdirSync('/srv', { recursive: true });
    return mem.fs;
  };
  /** gc -m --trash, then the manifest padded with `absent` records before, between and after the real ones. */
  const trashed = async (fs: MemFs, absent: number): Promise<{ real: number; bytes: number }> => {
    expect((await runCliOn(fs, ['gc', '-m', '--root', ROOT, '--trash', TRASH])).code).toBe(0);
    const [header = '', ...real] = Buffer.from(fs.readFileSync(`${TRASH}/${TRASH_MANIFEST}`))
      .toString()
      .split('\n')
      .filter(Boolean);
    const pad = absentRecords(absent);
    const third = Math.floor(absent / 3);
    const half = Math.floor(real.length / 2);
    const lines = [header, ...pad.slice(0, third), ...real.slice(0, half), ...pad.slice(third, 2 * third), ...real.slice(half), ...pad.slice(2 * third)];
    const text = `${lines.join('\n')}\n`;
    fs.writeFileSync(`${TRASH}/${TRASH_MANIFEST}`, text);
    return { real: real.length, bytes: Buffer.byteLength(text) };
  };

  it('restore: every item back, the padding counted absent, in reads of at most 64 KiB', async () => {
    const fs = build();
    const before = files(fs);
    const { real, bytes } = await trashed(fs, 3000);
    expect(bytes).toBeGreaterThan(8 * CHUNK);
    const { fs: watchedFs, reads } = watched(fs);
    const restored = await runCliOn(watchedFs, ['trash', 'restore', TRASH, '--json']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.json).toMatchObject({ ok: true, restored: real, absent: 3000, refused: [], unnamed: [] });
    expect(files(fs)).toEqual(before);
    expect(Math.max(...reads)).toBeLessThanOrEqual(CHUNK);
    // Read through three times at most (the count, the restore from the end, the rewrite), never whole at once.
    expect(reads.length).toBeGreaterThan(bytes / CHUNK);
    expect(reads.reduce((a, b) => a + b, 0)).toBeLessThan(3 * bytes + 4 * CHUNK);
    expect(
      Buffer.from(fs.readFileSync(`${TRASH}/${TRASH_MANIFEST}`))
        .toString()
        .split('\n')
        .filter(Boolean),
    ).toHaveLength(1);
  });

  it('empty --older-than: the young records and the refused one kept in their order, the rest gone, in reads of at most 64 KiB', async () => {
    const fs = build();
    const { real } = await trashed(fs, 3000);
    const manifest = `${TRASH}/${TRASH_MANIFEST}`;
    const lines = Buffer.from(fs.readFileSync(manifest)).toString().split('\n').filter(Boolean);
    // One real item made unlike its kind: refused, kept.
    const victim = lines.map((l) => JSON.parse(l) as Partial<TrashRecord>).find((r) => r.kind === 'blob' && r.id?.startsWith('m0-') === false);
    if (!victim) throw new Error('no blob trashed');
    fs.writeFileSync(`${TRASH}/${itemNameOf(victim as TrashRecord)}/stray`, 'x');
    const { fs: watchedFs, reads } = watched(fs);
    // The padding is from 2020, the real items from now: --older-than 1d takes the padding alone (absent), then all.
    const young = await runCliOn(watchedFs, ['trash', 'empty', TRASH, '--older-than', '1d', '--json']);
    expect(young.json).toMatchObject({ ok: true, deleted: 0, absent: 3000, kept: real });
    const kept = Buffer.from(fs.readFileSync(manifest)).toString().split('\n').filter(Boolean);
    expect(kept).toEqual(lines.filter((l) => !l.includes('"id":"m0-1-abcdef-')));
    const all = await runCliOn(watchedFs, ['trash', 'empty', TRASH, '--json']);
    expect(all.code).toBe(1);
    expect(all.json).toMatchObject({ deleted: real - 1, kept: 0 });
    expect(all.json.refused).toHaveLength(1);
    const left = Buffer.from(fs.readFileSync(manifest)).toString().split('\n').filter(Boolean);
    expect(left).toEqual([lines[0], lines.find((l) => l.includes(`"id":"${victim.id ?? ''}"`))]);
    expect(Math.max(...reads)).toBeLessThanOrEqual(CHUNK);
  });
});
