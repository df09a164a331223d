// The npm package as a user gets it: `npm pack` (its scripts skipped: dist/
// is built by `npm test` before the suite, and prepack would delete it under
// the other suites), the tarball's file list, then an install into an empty
// prefix and the installed bin run on a copy of the fixture.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../support/registry.js';
import { blobsOn, copyTree } from '../support/tree-files.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const FIXTURE = path.join(REPO, 'fixtures/example');
const VERSION = (JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const npm = (args: string[], cwd: string) => spawnSync('npm', [...args, '--no-audit', '--no-fund', '--no-update-notifier'], { cwd, encoding: 'utf8' });

describe('npm pack', () => {
  let work: string;
  let tarball: string;
  let files: string[];

  beforeAll(() => {
    work = makeTempDir('npm-pack');
    const packed = npm(['pack', '--ignore-scripts', '--json', '--pack-destination', work], REPO);
    if (packed.status !== 0) throw new Error(`npm pack: ${packed.stderr}`);
    const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    if (!info) throw new Error('npm pack printed no tarball');
    tarball = path.join(work, info.filename);
    files = info.files.map((f) => f.path);
  });

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('ships the runtime only: bin, the compiled JavaScript, the licence; no source maps, sources, tests or tools', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'LICENSE',
        'README.md',
        'package.json',
        'bin/registry-janitor.js',
        'bin/package.json',
        'dist/main.js',
        'dist/scan/scan-worker.js',
        'dist/scan/prefetch-child.js',
      ]),
    );
    for (const file of files) {
      expect(file).toMatch(/^(LICENSE|README\.md|package\.json|bin\/registry-janitor\.js|bin\/package\.json|dist\/.+\.js)$/);
      expect(file).not.toMatch(/\.map$|\.ts$|^(src|test|tools|fixtures)\//);
    }
    expect(fs.readFileSync(path.join(REPO, 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0/);
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));
    expect(pkg.license).toBe('Apache-2.0');
    expect(pkg.scripts.prepare).toBeUndefined();
    expect(pkg.scripts.prepack).toBeDefined();
    expect(pkg.engines.node).toMatch(/>=\s*20/);
  });

  it('installs into an empty prefix with no install script, and the installed bin runs', () => {
    const prefix = path.join(work, 'prefix');
    fs.mkdirSync(prefix);
    const installed = npm(['install', '--prefix', prefix, '--prefer-offline', tarball], work);
    expect(installed.status, installed.stderr).toBe(0);
    expect(installed.stderr).not.toMatch(/install-scripts|prepare/);
    const bin = path.join(prefix, 'node_modules/.bin/registry-janitor');
    const run = (args: string[]) => spawnSync(bin, args, { cwd: work, encoding: 'utf8' });
    expect(run(['--version']).stdout).toBe(`${VERSION}\n`);
    const root = copyTree(FIXTURE, path.join(work, 'root'));
    const before = blobsOn(root).size;
    const gc = run(['gc', '-m', '--grace', '0s', '-j', '2', '--root', root, '--json']);
    expect(gc.status, gc.stderr).toBe(0);
    expect(JSON.parse(gc.stdout).blobsDeleted).toHaveLength(12);
    expect(blobsOn(root).size).toBe(before - 12);
  });
});
