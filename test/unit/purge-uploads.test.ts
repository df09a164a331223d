// gc --purge-uploads on memfs: the age rule (startedat, else the newest
// mtime inside; nothing written within the grace window), the known shape of
// an upload directory (anything else is left, with a W_UPLOAD_LEFT warning),
// the flag's values, the dry run, and a run stopped part-way.
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/index.js';
import { runGc } from '../../src/commands/gc/index.js';
import { judgeUpload, parseStartedAt } from '../../src/model/upload-age.js';
import { type MemFs, ROOT, V2, exists, killedAfter, markLockHolderDead, memTree } from '../support/memfs-tree.js';
import { runCliOn } from '../support/run-cli.js';
import { sampleTree } from '../support/sample-tree.js';
import { HOUR, ID, writeUpload } from '../support/uploads.js';

const DAY = 24 * HOUR;
const gc = (fs: MemFs, ...args: string[]) => runCliOn(fs, ['gc', '--root', ROOT, '--json', ...args]);
const purgedIds = (json: { uploads: { purged: { id: string }[] } }): string[] => json.uploads.purged.map((u) => u.id).sort();
const codes = (json: { warnings: { code: string }[] }): string[] => json.warnings.map((w) => w.code);

describe('startedat', () => {
  it('parses RFC 3339 as Go does, and refuses what Go refuses', () => {
    expect(parseStartedAt('2026-12-02T16:26:11Z')).toBe(Date.UTC(2026, 11, 2, 16, 26, 11));
    expect(parseStartedAt('2026-12-02T16:26:11.712535405Z')).toBe(Date.UTC(2026, 11, 2, 16, 26, 11, 712));
    expect(parseStartedAt('2026-12-02T18:26:11+02:00')).toBe(Date.UTC(2026, 11, 2, 16, 26, 11));
    expect(parseStartedAt('2024-02-29T00:00:00-01:30')).toBe(Date.UTC(2024, 1, 29, 1, 30));
    for (const bad of [
      '',
      '2026-12-02T16:26:11Z\n',
      '2026-12-02 16:26:11Z',
      '2026-12-02t16:26:11z',
      '2026-12-02T16:26:11',
      '2026-13-02T16:26:11Z',
      '2025-02-29T00:00:00Z',
      '2026-12-02T24:00:00Z',
      '2026-12-02T16:60:00Z',
      '2026-12-02T16:26:60Z',
      '2026-12-02T16:26:11+24:00',
      'yesterday',
      '1733156771',
    ]) {
      expect(parseStartedAt(bad), JSON.stringify(bad)).toBeUndefined();
    }
  });

  it('judges by startedat, else by the newest mtime, and never what was written within the grace window', () => {
    const nowMs = Date.UTC(2026, 0, 10);
    const rule = { olderThanMs: 168 * HOUR, nowMs, freshAfterMs: nowMs - HOUR };
    expect(judgeUpload({ startedAtMs: nowMs - 169 * HOUR, newestMs: nowMs - 2 * HOUR }, rule)).toBe('purge');
    expect(judgeUpload({ startedAtMs: nowMs - 167 * HOUR, newestMs: nowMs - 200 * HOUR }, rule)).toBe('young');
    expect(judgeUpload({ startedAtMs: nowMs - 168 * HOUR, newestMs: nowMs - 200 * HOUR }, rule)).toBe('young'); // exactly AGE: not older
    expect(judgeUpload({ startedAtMs: undefined, newestMs: nowMs - 169 * HOUR }, rule)).toBe('purge');
    expect(judgeUpload({ startedAtMs: undefined, newestMs: nowMs - 100 * HOUR }, rule)).toBe('young');
    expect(judgeUpload({ startedAtMs: nowMs - 999 * HOUR, newestMs: nowMs - 10 * 60_000 }, rule)).toBe('fresh');
    expect(judgeUpload({ startedAtMs: nowMs + 999 * HOUR, newestMs: nowMs - 999 * HOUR }, rule)).toBe('young'); // a start in the future
    expect(judgeUpload({ startedAtMs: nowMs - 999 * HOUR, newestMs: nowMs - 999 * HOUR }, { ...rule, olderThanMs: undefined })).toBe('off');
  });
});

describe('gc --purge-uploads', () => {
  it('purges what began before AGE, by startedat or (missing, garbage) by the newest mtime; leaves the rest, files and bytes counted', async () => {
    const { fs, tree } = sampleTree();
    const dirs = {
      oldStarted: writeUpload(fs, tree, 'team/app', ID[0], { ageMs: 8 * DAY }),
      youngStarted: writeUpload(fs, tree, 'team/app', ID[1], { ageMs: 2 * DAY, startedAt: new Date(Date.now() - 6 * DAY).toISOString() }),
      missingOld: writeUpload(fs, tree, 'team/web', ID[2], { ageMs: 9 * DAY, startedAt: null }),
      missingYoung: writeUpload(fs, tree, 'team/web', ID[3], { ageMs: 5 * DAY, startedAt: null }),
      garbageOld: writeUpload(fs, tree, 'team/web', ID[4], { ageMs: 10 * DAY, startedAt: 'yesterday' }),
      // Begun long ago, but bytes arrived 10 minutes ago: under way, whatever startedat says.
      resumed: writeUpload(fs, tree, 'team/app', ID[5], { ageMs: 9 * DAY }),
    };
    fs.utimesSync(`${dirs.resumed}/data`, (Date.now() - 600_000) / 1000, (Date.now() - 600_000) / 1000);
    const run = await gc(fs);
    expect(run.code, run.stderr).toBe(0);
    expect(purgedIds(run.json)).toEqual([ID[0], ID[2], ID[4]].sort());
    // startedat, data (19 bytes) and two 108-byte hash states each; no startedat in ID[2].
    const sizes = Object.fromEntries(run.json.uploads.purged.map((u: { id: string; bytes: number }) => [u.id, u.bytes]));
    expect(sizes).toEqual({ [ID[0]]: 20 + 19 + 216, [ID[2]]: 19 + 216, [ID[4]]: 9 + 19 + 216 });
    expect(run.json.uploads).toMatchObject({ purgeUploadsAfter: '168h', purgedCount: 3, purgedBytes: 255 + 235 + 244, leftCount: 3 });
    // startedat of the young one written with milliseconds (24 bytes), none in the other.
    expect(run.json.uploads.leftBytes).toBe(3 * (19 + 216) + 24 + 20);
    for (const dir of [dirs.oldStarted, dirs.missingOld, dirs.garbageOld]) expect(exists(fs, dir), dir).toBe(false);
    for (const dir of [dirs.youngStarted, dirs.missingYoung, dirs.resumed]) expect(exists(fs, `${dir}/data`), dir).toBe(true);
    expect(run.json.uploads.purged.find((u: { id: string }) => u.id === ID[2]).startedAt).toBeNull();
    // The uploads left are signs of a live registry.
    expect(codes(run.json)).toEqual(['W_LIVE_SIGNS']);
  });

  it('a dry run deletes nothing and reports the same; the human summary always says purged and left, with bytes', async () => {
    const { fs, tree, files } = sampleTree();
    writeUpload(fs, tree, 'team/app', ID[0], { ageMs: 8 * DAY });
    writeUpload(fs, tree, 'team/app', ID[1], { ageMs: 2 * DAY });
    const before = files();
    const dry = await gc(fs, '-d');
    expect(files()).toEqual(before);
    expect(purgedIds(dry.json)).toEqual([ID[0]]);
    const human = await runCliOn(fs, ['gc', '--root', ROOT, '-d']);
    expect(human.stdout).toContain('1 unfinished upload would be purged (255 B), 1 left (255 B) (--purge-uploads 168h)');
    expect(files()).toEqual(before);
    const off = await runCliOn(fs, ['gc', '--root', ROOT, '--purge-uploads', 'off']);
    expect(off.code).toBe(0);
    expect(off.stdout).toContain('0 unfinished uploads purged (0 B), 2 left (510 B) (--purge-uploads off)');
    expect(files().filter((f) => f.includes('_uploads'))).toEqual(before.filter((f) => f.includes('_uploads')));
    const real = await runCliOn(fs, ['gc', '--root', ROOT, '--purge-uploads', '7d']);
    expect(real.stdout).toContain('1 unfinished upload purged (255 B), 1 left (255 B) (--purge-uploads 168h)');
  });

  it('leaves, with a W_UPLOAD_LEFT warning, every upload with anything not of its shape, and never follows a symlink', async () => {
    const { fs, tree, files: all } = sampleTree();
    const files = () => all().filter((f) => f.includes('_uploads'));
    const old = { ageMs: 30 * DAY };
    const unknown = writeUpload(fs, tree, 'team/app', ID[0], old);
    fs.writeFileSync(`${unknown}/notes.txt`, 'not the registry');
    const nested = writeUpload(fs, tree, 'team/app', ID[1], old);
    fs.mkdirSync(`${nested}/hashstates/sha256/sub`, { recursive: true });
    // startedat a symlink to a file holding an old date: never read through, never deleted.
    const symlinked = writeUpload(fs, tree, 'team/web', ID[2], { ...old, startedAt: null });
    fs.writeFileSync('/precious', '2000-01-01T00:00:00Z');
    fs.symlinkSync('/precious', `${symlinked}/startedat`);
    // _uploads/<uuid> that is a file, and a directory not named by a UUID.
    const asFile = tree.pathOf({ kind: 'uploadDir', name: 'team/web', id: ID[3] });
    fs.writeFileSync(asFile, 'a file');
    const notUuid = `${tree.pathOf({ kind: 'uploadsRoot', name: 'team/web' })}/not-a-uuid`;
    fs.mkdirSync(`${notUuid}/x`, { recursive: true });
    fs.writeFileSync(`${notUuid}/x/data`, 'y');
    const good = writeUpload(fs, tree, 'team/web', ID[4], old);
    const before = files().filter((f) => !f.includes(ID[4]));
    const run = await gc(fs);
    expect(run.code, run.stderr).toBe(0);
    expect(purgedIds(run.json)).toEqual([ID[4]]);
    expect(exists(fs, good)).toBe(false);
    expect(files()).toEqual(before);
    expect(exists(fs, `${nested}/hashstates/sha256/sub`)).toBe(true);
    expect(Buffer.from(fs.readFileSync('/precious')).toString()).toBe('2000-01-01T00:00:00Z');
    const left = run.json.warnings.filter((w: { code: string }) => w.code === 'W_UPLOAD_LEFT');
    expect(left.map((w: { path: string }) => w.path).sort()).toEqual(
      [`${unknown}/notes.txt`, `${nested}/hashstates/sha256/sub`, `${symlinked}/startedat`, asFile, notUuid].sort(),
    );
    expect(left.map((w: { message: string }) => w.message).join('\n')).toMatch(/symbolic link/);
    expect(run.json.uploads.leftCount).toBe(5);
  });

  it('takes an age or off; anything else exits 2 with one line and deletes nothing', async () => {
    const { fs, tree, files: all } = sampleTree();
    const files = () => all().filter((f) => f.includes('_uploads'));
    writeUpload(fs, tree, 'team/app', ID[0], { ageMs: 30 * DAY });
    const before = files();
    for (const value of ['', '-1h', '1x', '1.5h', '168', 'OFF', '7 d', 'h']) {
      const run = await runCliOn(fs, ['gc', '--root', ROOT, '--purge-uploads', value]);
      expect(run.code, JSON.stringify(value)).toBe(2);
      expect(run.stderr.trim().split('\n'), JSON.stringify(value)).toEqual([
        `registry-janitor: error: --purge-uploads takes an age (a whole number and s, m, h, d or w: 168h, 7d) or off, not ${JSON.stringify(value)}${value === '' ? ' (an unset shell variable?)' : ''}`,
      ]);
      expect(run.stdout).toBe('');
    }
    const inline = await runCliOn(fs, ['gc', '--root', ROOT, '--purge-uploads=-5m']);
    expect(inline.code).toBe(2);
    expect(files()).toEqual(before);
    expect((await gc(fs, '--purge-uploads', 'off')).json.uploads).toMatchObject({ purgeUploadsAfter: null, purgedCount: 0, leftCount: 1 });
    expect(files()).toEqual(before);
    expect((await gc(fs, '--purge-uploads', '31d')).json.uploads.purgedCount).toBe(0);
    expect((await gc(fs, '--purge-uploads', '29d')).json.uploads.purgedCount).toBe(1);
  });

  it('garbage-collect purges nothing unless asked, like the reference; prune purges by default', async () => {
    const { fs, tree } = sampleTree();
    const dir = writeUpload(fs, tree, 'team/app', ID[0], { ageMs: 30 * DAY });
    fs.writeFileSync('/config.yml', `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${ROOT}\n`);
    const dropIn = await runCliOn(fs, ['garbage-collect', '/config.yml', '--json']);
    expect(dropIn.code, dropIn.stderr).toBe(0);
    expect(dropIn.json.uploads).toMatchObject({ purgeUploadsAfter: null, purgedCount: 0, leftCount: 1 });
    expect(exists(fs, dir)).toBe(true);
    const prune = await runCliOn(fs, ['prune', 'team/web:v1', '--root', ROOT, '--json']);
    expect(prune.code, prune.stderr).toBe(0);
    expect(purgedIds(prune.json)).toEqual([ID[0]]);
    expect(exists(fs, dir)).toBe(false);
    writeUpload(fs, tree, 'team/app', ID[1], { ageMs: 30 * DAY });
    const asked = await runCliOn(fs, ['garbage-collect', '/config.yml', '--purge-uploads', '168h', '--json']);
    expect(purgedIds(asked.json)).toEqual([ID[1]]);
  });

  it('a kill at any point of a purge: startedat goes last, and the rerun purges what is left', async () => {
    const build = () => {
      const mem = memTree();
      mem.tree.tag('lib', 'v1', mem.tree.pushImage('lib', { layers: ['base'] }).digest);
      return { ...mem, dir: writeUpload(mem.fs, mem.tree, 'lib', ID[0], { ageMs: 30 * DAY }) };
    };
    const options = { dryRun: false, deleteUntagged: false, purgeUploadsMs: 168 * HOUR, graceMs: HOUR };
    let completedAt: number | undefined;
    for (let budget = 0; budget < 30 && completedAt === undefined; budget++) {
      const { fs, dir } = build();
      const killed = await runGc(killedAfter(fs, budget), ROOT, options);
      if (killed.sweepError === undefined) {
        completedAt = budget;
        continue;
      }
      expect(killed.sweepError.code, `budget ${budget}`).toBe('E_DELETE');
      expect(killed.housekeeping.uploadsPurged, `budget ${budget}`).toEqual([]);
      // What a kill leaves: startedat (the upload's age), or nothing at all.
      const left = fs.readdirSync(dir, { withFileTypes: true }).map((e) => e.name);
      expect(left.length === 0 || left.includes('startedat'), `budget ${budget}: ${left.join(' ')}`).toBe(true);
      markLockHolderDead(fs);
      const rerun = await runGc(fs, ROOT, options);
      expect(rerun.sweepError, `budget ${budget}`).toBeUndefined();
      expect(
        rerun.housekeeping.uploadsPurged.map((u) => u.id),
        `budget ${budget}`,
      ).toEqual([ID[0]]);
      expect(exists(fs, dir), `budget ${budget}`).toBe(false);
    }
    // Seven removals: data, two hash states, hashstates/sha256, hashstates, startedat, the directory.
    expect(completedAt).toBeGreaterThanOrEqual(7);
  });

  it('SIGINT between two purges: exit 130, the first purged, the second left and reported as left; the rerun finishes', async () => {
    const { fs, tree } = sampleTree();
    const first = writeUpload(fs, tree, 'team/app', ID[0], { ageMs: 30 * DAY });
    const second = writeUpload(fs, tree, 'team/web', ID[1], { ageMs: 30 * DAY });
    let stdout = '';
    const code = await runCli(['gc', '--root', ROOT, '--json'], {
      fs,
      env: {},
      stdout: (s) => void (stdout += s),
      stderr: () => {},
      signal: () => (exists(fs, first) && exists(fs, second) ? undefined : 'SIGINT'),
    });
    expect(code).toBe(130);
    const json = JSON.parse(stdout);
    expect(json.error.code).toBe('E_INTERRUPTED');
    expect(purgedIds(json)).toEqual([ID[0]]);
    expect(json.uploads).toMatchObject({ purgedCount: 1, leftCount: 1 });
    expect(exists(fs, second)).toBe(true);
    const rerun = await gc(fs);
    expect(purgedIds(rerun.json)).toEqual([ID[1]]);
    expect(exists(fs, second)).toBe(false);
    expect(exists(fs, `${V2}/repositories/team/app/_uploads`)).toBe(true);
  });
});
