// The same cron lines run by Distribution 2.8.2 (`docker-registry`) and by
// `registry-janitor garbage-collect`, each on its own copy of one pushed
// tree: both accept the line, both print the summary line scripts grep (ours
// as the last line of stdout), and both delete the same blobs (a subset with
// -m: ours keeps what multi-arch images need, 2.8.2 does not). The lines are
// the spellings found in the wild: Distribution's own docs, the
// docker-registry Helm chart (twuni) with its deleteUntagged value rendered
// either way, and `kubectl exec` lines with the config first. (More
// spellings, -d=true -m=false among them, are in test/unit/drop-in.test.ts.)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REGISTRY_BIN, pushPristineTree, writeConfig } from '../support/registry.js';
import { pushScenario } from '../support/scenario.js';
import { BIN, blobsOn, copyTree } from '../support/tree-files.js';
import { describeWithRegistry } from '../support/with-registry.js';

const SUMMARY = /^(\d+) blobs marked, (\d+) blobs and (\d+) manifests eligible for deletion$/m;

/** `CONFIG` stands for the config file's path, wherever the line puts it. */
const CRON_LINES: { source: string; line: string[] }[] = [
  { source: 'docs: garbage-collect CONFIG', line: ['CONFIG'] },
  { source: 'docs: --dry-run', line: ['--dry-run', 'CONFIG'] },
  { source: 'helm (twuni): deleteUntagged true', line: ['--delete-untagged=true', 'CONFIG'] },
  { source: 'helm (twuni): deleteUntagged false', line: ['--delete-untagged=false', 'CONFIG'] },
  { source: 'kubectl exec: config first', line: ['CONFIG', '--delete-untagged=true'] },
  { source: 'short, combined, dry run', line: ['-dm', 'CONFIG'] },
];

describeWithRegistry('garbage-collect: the same cron lines as Distribution 2.8.2', () => {
  let work: string;
  let pristine: string;

  beforeAll(async () => {
    ({ work, pristine } = await pushPristineTree('e2e-dropin', pushScenario));
  });

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  function runLine(program: string[], label: string, line: string[]) {
    const root = copyTree(pristine, path.join(work, label, 'root'));
    const config = writeConfig(path.join(work, label), root, 5000);
    const args = ['garbage-collect', ...line.map((arg) => (arg === 'CONFIG' ? config : arg))];
    const [command = '', ...rest] = [...program, ...args];
    const run = spawnSync(command, rest, { encoding: 'utf8' });
    return { status: run.status, stdout: run.stdout, stderr: run.stderr, deleted: [...blobsOn(pristine)].filter((d) => !blobsOn(root).has(d)).sort() };
  }

  it.each(CRON_LINES)('$source', ({ source, line }) => {
    const label = source.replace(/\W+/g, '-');
    const ref = runLine([REGISTRY_BIN], `ref-${label}`, line);
    const ours = runLine([process.execPath, BIN], `ours-${label}`, line);
    expect(ref.status, ref.stderr).toBe(0);
    expect(ours.status, ours.stderr).toBe(0);
    const refSummary = SUMMARY.exec(ref.stdout);
    const lines = ours.stdout.trimEnd().split('\n');
    const oursSummary = SUMMARY.exec(lines.at(-1) ?? '');
    expect(refSummary, ref.stdout).not.toBeNull();
    expect(oursSummary, ours.stdout).not.toBeNull();
    expect(lines).toHaveLength(1);
    const dryRun = line.includes('--dry-run') || line.includes('-dm') || line.includes('-d=true');
    const untagged = line.some((arg) => /^(--delete-untagged(=true)?|-dm)$/.test(arg));
    if (dryRun) {
      expect(ref.deleted).toEqual([]);
      expect(ours.deleted).toEqual([]);
    }
    if (untagged) {
      // ours: a subset of 2.8.2's, which deletes the platform images of kept multi-arch tags
      for (const digest of ours.deleted) expect(ref.deleted).toContain(digest);
      expect(Number(oursSummary?.[3])).toBeGreaterThan(0);
      expect(Number(oursSummary?.[3])).toBeLessThanOrEqual(Number(refSummary?.[3]));
    } else {
      // plain gc: the very counts and the very blobs
      expect(oursSummary?.slice(1)).toEqual(refSummary?.slice(1));
      expect(ours.deleted).toEqual(ref.deleted);
      expect(oursSummary?.[3]).toBe('0');
    }
    if (!dryRun) expect(ours.deleted.length).toBeGreaterThan(0);
  });
});
