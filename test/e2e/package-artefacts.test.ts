// The self-contained artefacts of `npm run package` (tools/package/build-package.ts),
// built once here: the bundle (one .cjs file) under plain node 20 and node
// 18, and the single executable with no node on PATH. Each is copied alone
// into an empty directory and run from there: --version, a dry-run gc -m
// (nothing changes), a real gc -m with two reader threads and the
// prefetcher's child (the bundle re-entering itself), and the drop-in;
// the real run leaves exactly the blobs the compiled CLI leaves.
//
// Node 18: REGISTRY_JANITOR_NODE18 names its binary (.ci/run installs one);
// without it that case is skipped loudly, and fails under CI=true.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, writeConfig } from '../support/registry.js';
import { blobsOn, copyTree, runJanitor, snapshot } from '../support/tree-files.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const FIXTURE = path.join(REPO, 'fixtures/example');
const VERSION = (JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const NODE18 = process.env.REGISTRY_JANITOR_NODE18;
const SEA_HERE = process.platform === 'linux' && process.arch === 'x64';

interface Runner {
  name: string;
  file: string;
  command: (artefact: string) => string[];
  env?: NodeJS.ProcessEnv;
}

const runners: Runner[] = [{ name: 'the bundle on node 20', file: 'registry-janitor.cjs', command: (a) => [process.execPath, a] }];
if (NODE18 !== undefined) runners.push({ name: 'the bundle on node 18', file: 'registry-janitor.cjs', command: (a) => [NODE18, a] });
else if (process.env.CI === 'true')
  runners.push({ name: 'the bundle on node 18 (REGISTRY_JANITOR_NODE18 is required under CI=true)', file: '', command: () => [] });
else process.stderr.write('\n!!! REGISTRY_JANITOR_NODE18 is not set: the bundle is NOT run on node 18 here (.ci/run does it)\n\n');
// No node on PATH: the executable is its own runtime, threads and child included.
if (SEA_HERE) runners.push({ name: 'the single executable', file: 'registry-janitor-linux-x64', command: (a) => [a], env: { PATH: '/nonexistent' } });

describe('npm run package: the bundle and the single executable, each alone in an empty directory', () => {
  let work: string;
  let out: string;
  /** the blobs the compiled CLI leaves after gc -m on the fixture. */
  let compiledLeaves: string[];

  beforeAll(() => {
    work = makeTempDir('artefacts');
    out = path.join(work, 'out');
    const built = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(REPO, 'tools/package/build-package.ts'), '--out', out, ...(SEA_HERE ? [] : ['--no-sea'])],
      {
        cwd: REPO,
        encoding: 'utf8',
      },
    );
    if (built.status !== 0) throw new Error(`npm run package failed: ${built.stderr}`);
    const compiled = copyTree(FIXTURE, path.join(work, 'compiled'));
    if (runJanitor(['gc', '-m', '--grace', '0s', '--root', compiled]).status !== 0) throw new Error('the compiled CLI failed on the fixture');
    compiledLeaves = [...blobsOn(compiled)].sort();
  });

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it.each(runners)('$name', ({ file, command, env, name }) => {
    expect(file, name).not.toBe('');
    const alone = path.join(work, `alone-${runners.findIndex((r) => r.name === name)}`);
    fs.mkdirSync(alone);
    const artefact = path.join(alone, file);
    fs.copyFileSync(path.join(out, file), artefact);
    fs.chmodSync(artefact, 0o755);
    const [program = '', ...first] = command(artefact);
    const run = (args: string[]) => spawnSync(program, [...first, ...args], { cwd: alone, encoding: 'utf8', env: { ...process.env, ...env } });

    expect(run(['--version']).stdout).toBe(`${VERSION}\n`);

    const root = copyTree(FIXTURE, path.join(alone, '..', `${path.basename(alone)}-root`));
    const before = snapshot(root);
    const dry = run(['gc', '-d', '-m', '--grace', '0s', '-j', '2', '--root', root]);
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/17 blobs marked, 12 blobs and 4 manifests eligible for deletion/);
    expect(snapshot(root)).toEqual(before);

    const config = writeConfig(path.join(alone, '..'), root, 5000);
    const dropIn = run(['garbage-collect', '--delete-untagged=true', '--dry-run=true', config]);
    expect(dropIn.status, dropIn.stderr).toBe(0);
    expect(dropIn.stdout).toBe('17 blobs marked, 12 blobs and 4 manifests eligible for deletion\n');

    // --prefetch 8: the child starts whatever the cache holds (auto would find this fresh copy cached).
    const real = run(['gc', '-m', '--grace', '0s', '-j', '2', '--prefetch', '8', '--root', root, '--json']);
    expect(real.status, real.stderr).toBe(0);
    const report = JSON.parse(real.stdout);
    expect(report).toMatchObject({ ok: true, version: VERSION, dryRun: false, prefetched: true });
    expect(report.blobsDeleted).toHaveLength(12);
    expect([...blobsOn(root)].sort()).toEqual(compiledLeaves);

    // it wrote nothing beside itself
    expect(fs.readdirSync(alone)).toEqual([file]);
  });
});
