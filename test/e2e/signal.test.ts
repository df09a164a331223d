// SIGINT or SIGTERM (what systemd and Kubernetes send) during a real sweep, for real: the built CLI on a real tree big
// enough that the sweep takes a moment (6,000 orphan blobs and 1,000
// untagged revisions), interrupted as the sweep phase begins. It must stop
// starting deletions, finish those under way, report what it did, exit 130
// (143 for SIGTERM) with its lock released and every kept tag whole; the rerun of the same
// command must end where an uninterrupted run ends.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TreeBuilder } from '../support/tree-builder.js';
import { makeTempDir } from '../support/registry.js';
import { BIN, blobsOn, copyTree, snapshot, v2Of } from '../support/tree-files.js';

const ORPHANS = 6_000;
const UNTAGGED = 1_000;
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function buildTree(root: string): { keptFiles: string[] } {
  const tree = new TreeBuilder(fs, v2Of(root));
  const kept = tree.pushImage('team/app', { layers: ['kept layer'] });
  tree.tag('team/app', 'v1', kept.digest);
  for (let i = 0; i < UNTAGGED; i++) tree.pushImage(`team/ci${i % 10}`, { layers: [`untagged ${i}`] });
  tree.tag('team/ci0', 'latest', tree.pushImage('team/ci0', { layers: ['ci latest'] }).digest);
  for (let i = 0; i < ORPHANS; i++) tree.putBlob(`orphan ${i}`);
  const keptFiles = [
    tree.pathOf({ kind: 'revisionLink', name: 'team/app', digest: kept.digest }),
    tree.pathOf({ kind: 'blobData', digest: kept.digest }),
    ...kept.layers.map((layer) => tree.pathOf({ kind: 'blobData', digest: layer.digest })),
    ...kept.layers.map((layer) => tree.pathOf({ kind: 'layerLink', name: 'team/app', digest: layer.digest })),
  ];
  return { keptFiles };
}

/** Runs the CLI and sends `signal` once its stderr shows the sweep phase begin (--progress). */
function runInterrupted(args: string[], signal: NodeJS.Signals): Promise<{ status: number | null; stdout: string; stderr: string; sent: boolean }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let sent = false;
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (!sent && /^sweep\b/m.test(stderr)) {
      sent = true;
      child.kill(signal);
    }
  });
  return new Promise((resolve) => child.once('close', (status) => resolve({ status, stdout, stderr, sent })));
}

/** A run to its end; its report (thousands of digests) read in full. */
const runQuiet = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });

/** The tree's entries without mtimes: what is there, not when it was written. */
const shape = (root: string): string[] => snapshot(v2Of(root)).map((line) => line.replace(/ [\d.]+$/, ''));

describe('a signal during the real sweep', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    '%s: exit %i, the summary of what was done, no lock, kept tags whole; the rerun ends where an uninterrupted run ends',
    async (signal, status) => {
      const root = makeTempDir('signal');
      dirs.push(root);
      const { keptFiles } = buildTree(root);
      const reference = copyTree(root, `${root}-reference`);
      dirs.push(reference);
      const args = ['gc', '-m', '--grace', '0s', '--json', '--progress', '--root', root];

      const run = await runInterrupted(args, signal);
      expect(run.sent).toBe(true);
      expect(run.status).toBe(status);
      const report = JSON.parse(run.stdout) as { ok: boolean; error: { code: string } | null; blobsDeleted: string[]; manifestsDeleted: unknown[] };
      expect(report.ok).toBe(false);
      expect(report.error?.code).toBe('E_INTERRUPTED');
      expect(run.stderr).toContain(`interrupted by ${signal}`);
      expect(fs.existsSync(path.join(v2Of(root), '_janitor/lock'))).toBe(false);
      for (const file of keptFiles) expect(fs.existsSync(file), file).toBe(true);
      // What it says it deleted is gone; what the interruption spared is still there (nothing left hidden aside).
      const left = blobsOn(root);
      for (const digest of report.blobsDeleted) expect(left.has(digest)).toBe(false);
      expect(left.size).toBeGreaterThan(2);

      const rerun = runQuiet(args.filter((a) => a !== '--progress'));
      expect(rerun.status, rerun.stderr).toBe(0);
      const uninterrupted = runQuiet(['gc', '-m', '--grace', '0s', '--json', '--root', reference]);
      expect(uninterrupted.status, uninterrupted.stderr).toBe(0);
      expect(shape(root)).toEqual(shape(reference));
      for (const file of keptFiles) expect(fs.existsSync(file), file).toBe(true);
    },
    180_000,
  );
});
