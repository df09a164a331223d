#!/usr/bin/env node
// K trials of the live-registry e2e test (issue 8): the real registry serves
// an aged tree, a client pushes (new layers, re-pushed existing layers,
// cross-repository mounts, multi-arch OCI indexes, tags re-pointed to older
// untagged manifests) while `gc -m --allow-live` runs, and every completed
// push is pulled in full afterwards. Prints trials, completed pushes and
// images lost.
//
//   npm run build && node tools/live-trials.mjs [--trials 20] [--max-ms 20000] [-- extra gc flags, e.g. --grace 0s]
//
// The trial itself is test/support/live-trial.ts (what the e2e test runs),
// compiled here with the project's tsc into a temporary directory.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const repo = path.resolve(import.meta.dirname, '..');
const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const own = dash >= 0 ? argv.slice(0, dash) : argv;
const flags = dash >= 0 ? argv.slice(dash + 1) : [];
const option = (name, fallback) => {
  const at = own.indexOf(name);
  return at >= 0 ? Number(own[at + 1]) : fallback;
};
const trials = option('--trials', 20);
const maxMs = option('--max-ms', 20_000);
const historyRepos = option('--history-repos', 6);

const out = fs.mkdtempSync(path.join(os.tmpdir(), 'rj-live-trials-'));
try {
  const tsc = spawnSync(
    process.execPath,
    [
      path.join(repo, 'node_modules/typescript/bin/tsc'),
      '--outDir',
      out,
      '--rootDir',
      path.join(repo, 'test/support'),
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2022',
      '--types',
      'node',
      '--skipLibCheck',
      '--strict',
      path.join(repo, 'test/support/live-trial.ts'),
    ],
    { encoding: 'utf8', cwd: repo },
  );
  if (tsc.status !== 0) throw new Error(`tsc failed: ${tsc.stdout}${tsc.stderr}`);
  const { runLiveTrial } = await import(pathToFileURL(path.join(out, 'live-trial.js')).href);
  const bin = path.join(repo, 'bin/registry-janitor.js');

  let pushes = 0;
  let during = 0;
  let lost = 0;
  let failedPushes = 0;
  let janitorFailures = 0;
  const byKind = {};
  const lostByKind = {};
  const started = Date.now();
  for (let t = 1; t <= trials; t++) {
    const trial = await runLiveTrial({ bin, flags, maxMs, historyRepos, leadPushes: 3, tailPushes: 5 });
    pushes += trial.completed;
    during += trial.completedDuringRun;
    lost += trial.lost.length;
    failedPushes += trial.pusher.failed.length;
    if (trial.janitor.status !== 0) janitorFailures++;
    for (const [kind, n] of Object.entries(trial.pusher.byKind)) byKind[kind] = (byKind[kind] ?? 0) + n;
    for (const loss of trial.lost) lostByKind[loss.kind] = (lostByKind[loss.kind] ?? 0) + 1;
    const phases = trial.janitor.json?.phasesMs ? ` phases ${JSON.stringify(trial.janitor.json.phasesMs)}` : '';
    console.log(
      `trial ${t}/${trials}: ${trial.completed} pushes completed (${trial.completedDuringRun} while gc ran), ${trial.lost.length} lost, ${trial.pusher.failed.length} failed;` +
        ` gc exit ${trial.janitor.status} in ${trial.janitor.ms} ms, revalidations ${trial.janitor.json?.revalidations ?? '?'}${phases}`,
    );
    if (trial.janitor.status !== 0) console.log(`  gc stderr: ${trial.janitor.stderr.trim()}`);
    for (const loss of trial.lost) console.log(`  lost: ${loss.kind} ${loss.repo}:${loss.tag} ${loss.digest}: ${loss.error}`);
  }
  console.log(`gc flags: gc -m --allow-live --root ROOT --json ${flags.join(' ')}`.trimEnd());
  console.log(`pushes by kind: ${JSON.stringify(byKind)}; lost by kind: ${JSON.stringify(lostByKind)}`);
  console.log(
    `failed pushes (not completed, not counted): ${failedPushes}; gc runs that failed: ${janitorFailures}; ${Math.round((Date.now() - started) / 1000)} s`,
  );
  console.log(`trials: ${trials}, completed pushes: ${pushes} (${during} while gc ran), images lost: ${lost}`);
  process.exitCode = lost === 0 && janitorFailures === 0 ? 0 : 1;
} finally {
  fs.rmSync(out, { recursive: true, force: true });
}
