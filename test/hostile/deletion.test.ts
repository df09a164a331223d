// Deletion that could leave the tree, on memfs: unexpected content in a
// target, links whose content is not what their path says, symlinked
// files, mount points (from the mount table), crashed-write leftovers, and
// output that fails under the sweep. Every refusal happens in the plan
// phase: the files on disk are exactly what they were.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/index.js';
import type { Digest } from '../../src/model/digest.js';
import { JanitorError } from '../../src/errors.js';
import { runGc } from '../../src/commands/gc/index.js';
import { listDeletions } from '../support/gc-deletions.js';
import type { MemFs } from '../support/memfs-tree.js';
import { ROOT, V2, exists } from '../support/memfs-tree.js';
import { sampleTree } from '../support/sample-tree.js';
import { runCliOn } from '../support/run-cli.js';

type Tree = ReturnType<typeof sampleTree>;

/** Every file and directory under the root, but this tool's own (empty) _janitor/ that a real run leaves. */
function state(fs: MemFs): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === '_janitor' && fs.readdirSync(`${dir}/_janitor`, { withFileTypes: true }).length === 0) continue;
      out.push(`${dir}/${entry.name}${entry.isDirectory() ? '/' : ''}`);
      if (entry.isDirectory()) walk(`${dir}/${entry.name}`);
    }
  };
  walk('/');
  return out.sort();
}

async function expectRefused(t: Tree, code: string, names: string, args: string[] = ['gc', '-m']): Promise<string> {
  const before = state(t.fs);
  const { code: status, stderr } = await runCliOn(t.fs, [...args, '--root', ROOT]);
  expect(status, stderr).toBe(1);
  expect(stderr).toContain(names);
  expect(stderr.trim().split('\n').at(-1)).toMatch(/^registry-janitor: error: /);
  expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  expect(state(t.fs)).toEqual(before);
  // The typed error, through the library.
  const error = await runGc(t.fs, ROOT, { dryRun: false, deleteUntagged: true }).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (args[0] === 'gc') expect((error as JanitorError).code).toBe(code);
  return stderr;
}

const hexOf = (digest: Digest): string => digest.slice(7);

describe('unknown content in a deletion target stops the run in the plan phase', () => {
  it('a subdirectory with files inside an orphan blob directory', async () => {
    const t = sampleTree();
    const dir = t.tree.pathOf({ kind: 'blobDir', digest: t.sample.orphan });
    t.fs.mkdirSync(`${dir}/keep`, { recursive: true });
    t.fs.writeFileSync(`${dir}/keep/precious`, 'not the registry');
    await expectRefused(t, 'E_STRAY', `${dir}/keep`);
  });

  it('a stray file beside the link of a layer link to be deleted', async () => {
    const t = sampleTree();
    const dir = t.tree.pathOf({ kind: 'layerDir', name: 'team/app', digest: t.sample.untagged.layers[0]!.digest });
    t.fs.writeFileSync(`${dir}/notes.txt`, 'x');
    await expectRefused(t, 'E_STRAY', `${dir}/notes.txt`);
  });

  it('a stray entry in a tag directory that prune removes', async () => {
    const t = sampleTree();
    const dir = t.tree.pathOf({ kind: 'tagDir', name: 'team/web', tag: 'v1' });
    t.fs.mkdirSync(`${dir}/extra`, { recursive: true });
    await expectRefused(t, 'E_STRAY', `${dir}/extra`, ['prune', 'team/web:v1']);
  });

  it('a stray entry in a revision directory that -m deletes', async () => {
    const t = sampleTree();
    const dir = t.tree.pathOf({ kind: 'revisionDir', name: 'team/app', digest: t.sample.untagged.digest });
    t.fs.writeFileSync(`${dir}/link.bak`, t.sample.untagged.digest);
    await expectRefused(t, 'E_STRAY', `${dir}/link.bak`);
  });
});

describe('links about to be deleted must say what their path says', () => {
  for (const [label, content, code] of [
    ['empty', '', 'E_BAD_LINK'],
    ['garbage', 'sha256:not-a-digest', 'E_BAD_LINK'],
    ['naming another digest', `sha256:${'0'.repeat(64)}`, 'E_LINK_MISMATCH'],
  ] as const) {
    it(`a layer link to be deleted, ${label}`, async () => {
      const t = sampleTree();
      const digest = t.sample.untagged.layers[0]!.digest;
      t.tree.write({ kind: 'layerLink', name: 'team/app', digest }, content);
      await expectRefused(t, code, t.tree.pathOf({ kind: 'layerLink', name: 'team/app', digest }));
    });

    it(`a tag index link of a manifest -m deletes, ${label}`, async () => {
      const t = sampleTree();
      // latest once pointed at the untagged image: its index entry goes with it.
      t.tree.write({ kind: 'tagIndexLink', name: 'team/app', tag: 'latest', digest: t.sample.untagged.digest }, content);
      await expectRefused(t, code, t.tree.pathOf({ kind: 'tagIndexLink', name: 'team/app', tag: 'latest', digest: t.sample.untagged.digest }));
    });

    it(`a tag index link inside a tag prune removes, ${label}`, async () => {
      const t = sampleTree();
      const digest = t.sample.web.digest;
      t.tree.write({ kind: 'tagIndexLink', name: 'team/web', tag: 'v1', digest }, content);
      await expectRefused(t, code, t.tree.pathOf({ kind: 'tagIndexLink', name: 'team/web', tag: 'v1', digest }), ['prune', 'team/web:v1']);
    });
  }
});

describe('a symbolic link as a file the run would delete stops it, and its target is untouched', () => {
  const cases: [string, (t: Tree) => string][] = [
    ['the data of an orphan blob', (t) => t.tree.pathOf({ kind: 'blobData', digest: t.sample.orphan })],
    ['a layer link to be deleted', (t) => t.tree.pathOf({ kind: 'layerLink', name: 'team/app', digest: t.sample.untagged.layers[0]!.digest })],
    ['a tag index link of a removed tag', (t) => t.tree.pathOf({ kind: 'tagIndexLink', name: 'team/web', tag: 'v1', digest: t.sample.web.digest })],
  ];
  for (const [label, pick] of cases) {
    it(label, async () => {
      const t = sampleTree();
      const file = pick(t);
      const outside = '/outside/precious';
      t.fs.mkdirSync('/outside', { recursive: true });
      t.fs.writeFileSync(outside, Buffer.from(t.fs.readFileSync(file)));
      t.fs.unlinkSync(file);
      t.fs.symlinkSync(outside, file);
      await expectRefused(t, 'E_SYMLINK', file, label.includes('tag index') ? ['prune', 'team/web:v1'] : ['gc', '-m']);
      expect(() => t.fs.lstatSync(outside)).not.toThrow();
    });
  }
});

describe('mount points inside the tree (from the mount table)', () => {
  const mountTable = (t: Tree, mountPoint: string): void => {
    t.fs.mkdirSync('/proc/self', { recursive: true });
    const escaped = mountPoint.replace(/ /g, '\\040');
    t.fs.writeFileSync('/proc/self/mountinfo', `22 1 8:1 / / rw - ext4 /dev/sda1 rw\n97 22 0:52 / ${escaped} rw,relatime - tmpfs none rw\n`);
  };

  it('at an orphan blob directory', async () => {
    const t = sampleTree();
    const dir = t.tree.pathOf({ kind: 'blobDir', digest: t.sample.orphan });
    mountTable(t, dir);
    await expectRefused(t, 'E_MOUNT', `${dir} is a mount point inside the registry tree`);
  });

  it('at a repository whose untagged manifest -m would delete', async () => {
    const t = sampleTree();
    const dir = `${V2}/repositories/team/app`;
    mountTable(t, dir);
    await expectRefused(t, 'E_MOUNT', dir);
  });

  it('below a tag directory prune removes', async () => {
    const t = sampleTree();
    const dir = `${t.tree.pathOf({ kind: 'tagDir', name: 'team/web', tag: 'v1' })}/index`;
    mountTable(t, dir);
    await expectRefused(t, 'E_MOUNT', dir, ['prune', 'team/web:v1']);
  });

  it('anywhere in the tree, even where nothing would be deleted: it hides what the registry wrote (dry runs too)', async () => {
    const t = sampleTree();
    mountTable(t, `${V2}/repositories/team/web`);
    await expectRefused(t, 'E_MOUNT', `${V2}/repositories/team/web is a mount point inside the registry tree`);
    await expectRefused(t, 'E_MOUNT', 'is a mount point inside the registry tree', ['gc', '-d']);
  });

  it('at or above the root (the volume itself) is fine', async () => {
    const t = sampleTree();
    mountTable(t, V2);
    const result = await runGc(t.fs, ROOT, { dryRun: false, deleteUntagged: false });
    expect(listDeletions(result).blobsDeleted).toEqual([t.sample.orphan]);
  });
});

describe("current Distribution's crashed-write temporary files", () => {
  it('are removed with the directory they sit in, and counted; elsewhere they stop nothing', async () => {
    const t = sampleTree();
    const uuid = '0f8fad5b-d9cb-469f-a165-70867728950e';
    const blob = t.tree.pathOf({ kind: 'blobDir', digest: t.sample.orphan });
    t.fs.writeFileSync(`${blob}/data.${uuid}.tmp`, 'partial');
    const layer = t.tree.pathOf({ kind: 'layerDir', name: 'team/app', digest: t.sample.untagged.layers[0]!.digest });
    t.fs.writeFileSync(`${layer}/link.${uuid}.tmp`, '');
    const { code: status, stdout } = await runCliOn(t.fs, ['gc', '-m', '--json', '--root', ROOT]);
    expect(status).toBe(0);
    expect(JSON.parse(stdout).temporaryFilesDeleted).toBe(2);
    expect(() => t.fs.lstatSync(blob)).toThrow();
    expect(() => t.fs.lstatSync(layer)).toThrow();
  });

  it('a .tmp name that is not <name>.<uuid>.tmp is a stray', async () => {
    const t = sampleTree();
    const blob = t.tree.pathOf({ kind: 'blobDir', digest: t.sample.orphan });
    t.fs.writeFileSync(`${blob}/data.evil.tmp`, 'x');
    await expectRefused(t, 'E_STRAY', `${blob}/data.evil.tmp`);
  });
});

describe('output under failure', () => {
  it('a stderr that fails (a full device) does not stop the sweep', async () => {
    const t = sampleTree();
    const status = await runCli(['gc', '-m', '--root', ROOT], {
      fs: t.fs,
      env: {},
      stdout: () => {},
      stderr: () => {
        throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      },
    });
    expect(status).toBe(0);
    expect(() => t.fs.lstatSync(t.tree.pathOf({ kind: 'blobDir', digest: t.sample.orphan }))).toThrow();
  });

  it('a --json report that cannot be written after a completed sweep: one line with what was deleted, exit 3', async () => {
    const t = sampleTree();
    let stderr = '';
    const status = await runCli(['gc', '-m', '--json', '--root', ROOT], {
      fs: t.fs,
      env: {},
      stdout: () => {
        throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      },
      stderr: (s) => void (stderr += s),
    });
    expect(status).toBe(3);
    expect(stderr).toMatch(
      /the run completed \(deleted 0 tags, 1 manifest, \d+ layer links?, \d+ blobs?, \d+ bytes?\) but its report could not be written: ENOSPC/,
    );
    expect(() => t.fs.lstatSync(t.tree.pathOf({ kind: 'blobDir', digest: t.sample.orphan }))).toThrow();
  });

  it('a sweep that fails part-way (EACCES) reports ok:false, the error, and exactly what it deleted', async () => {
    const t = sampleTree();
    // The sweep moves doomed blobs aside first (vacuum.ts quarantine), then deletes them there.
    const denied = `${V2}/_janitor/quarantine/sha256/${t.sample.orphan.slice(7, 9)}/${t.sample.orphan.slice(7)}`;
    const fs = new Proxy(t.fs, {
      get(target, prop, receiver) {
        if (prop === 'rmdirSync') {
          return (p: string) => {
            if (p === denied) throw Object.assign(new Error(`EACCES: permission denied, rmdir '${p}'`), { code: 'EACCES' });
            target.rmdirSync(p);
          };
        }
        const value = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const { code: status, stdout, stderr } = await runCliOn(fs, ['gc', '-m', '--json', '--root', ROOT]);
    expect(status).toBe(1);
    const json = JSON.parse(stdout);
    expect(json.ok).toBe(false);
    expect(json.error.code).toBe('E_DELETE');
    expect(json.error.path).toBe(denied);
    expect(json.manifestsDeleted).toEqual([{ repository: 'team/app', digest: t.sample.untagged.digest }]);
    // Every blob the JSON lists is gone; the orphan (denied) and those after it are not listed.
    const blobsLeft = new Set(
      state(t.fs)
        .filter((p) => p.endsWith('/data'))
        .map((p) => `sha256:${p.split('/').at(-2)}`),
    );
    for (const digest of json.blobsDeleted) expect(blobsLeft.has(digest)).toBe(false);
    expect(json.blobsDeleted).not.toContain(t.sample.orphan);
    expect(json.bytesFreed).toBeGreaterThan(0);
    expect(stderr).toMatch(/stopped part-way after it deleted 0 tags, 1 manifest,/);
    expect(hexOf(t.sample.orphan)).toHaveLength(64);
  });
});

// The plan judges sha256 layer links from their packed bytes and any other
// algorithm's from their strings (plan-sweep.ts): both paths, one tree.
describe('layer links of another algorithm (sha512) beside sha256 ones', () => {
  it('a link to a sha512 orphan and a dangling one go, a link to a kept sha512 layer stays, and the sha256 links are judged as before', async () => {
    const t = sampleTree();
    const sha512 = (text: string): Digest => `sha512:${createHash('sha512').update(text).digest('hex')}` as Digest;
    const orphan = sha512('a sha512 orphan');
    t.tree.write({ kind: 'blobData', digest: orphan }, 'a sha512 orphan');
    t.tree.write({ kind: 'layerLink', name: 'team/web', digest: orphan }, orphan);
    const dangling = sha512('never pushed');
    t.tree.write({ kind: 'layerLink', name: 'team/web', digest: dangling }, dangling);
    const layer = sha512('a kept sha512 layer');
    t.tree.write({ kind: 'blobData', digest: layer }, 'a kept sha512 layer');
    t.tree.write({ kind: 'layerLink', name: 'team/web', digest: layer }, layer);
    const config = t.tree.pushBlob('team/web', '{"architecture":"arm64"}', 'application/vnd.oci.image.config.v1+json');
    const manifest = t.tree.pushManifest(
      'team/web',
      {
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config,
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer, size: 'a kept sha512 layer'.length }],
      },
      'application/vnd.oci.image.manifest.v1+json',
    );
    t.tree.tag('team/web', 'sha512-layer', manifest.digest);
    const dry = await runCliOn(t.fs, ['gc', '--json', '--grace', '0s', '-d', '--root', ROOT]);
    expect(dry.code, dry.stderr).toBe(0);
    const links = (dry.json.layerLinksDeleted as { repository: string; digest: Digest }[]).filter((l) => l.repository === 'team/web').map((l) => l.digest);
    expect(links).toContain(orphan);
    expect(links).toContain(dangling);
    expect(links).not.toContain(layer);
    expect(dry.json.blobsDeleted).toContain(orphan);
    expect(dry.json.blobsDeleted).toContain(t.sample.orphan);
    const run = await runCliOn(t.fs, ['gc', '--json', '--grace', '0s', '--root', ROOT]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json.layerLinksDeleted).toEqual(dry.json.layerLinksDeleted);
    expect(exists(t.fs, t.tree.pathOf({ kind: 'layerLink', name: 'team/web', digest: layer }))).toBe(true);
    expect(exists(t.fs, t.tree.pathOf({ kind: 'blobData', digest: layer }))).toBe(true);
    expect(exists(t.fs, t.tree.pathOf({ kind: 'layerLink', name: 'team/web', digest: orphan }))).toBe(false);
    expect(exists(t.fs, t.tree.pathOf({ kind: 'layerLink', name: 'team/web', digest: dangling }))).toBe(false);
    expect(exists(t.fs, t.tree.pathOf({ kind: 'blobData', digest: orphan }))).toBe(false);
  });
});
