// npm run bench:plan -- [--blobs N] [--shape many-small|settled|few-large] [--changed PERCENT] [--seed S]
//                       [--dir DIR] [--scratch DIR] [--janitor PATH] [--keep] [--trash]
//                       [--only-trash] [--use-cached-tree]
//
// Issue 13's measurement: how much of the maintenance window a plan saves.
// On the cached generated tree (bench-tree.ts: the same directory as `npm
// run bench`, generated only when missing; the tree itself is only read):
//
// 1. two `cp -a` copies of it, A and B, in a scratch directory (--scratch,
//    default the OS temp dir; it must be on the tree's filesystem, so the
//    copies sit on the same disk), removed at the end, also on failure or
//    Ctrl-C (--keep leaves them, to look into a MISMATCH);
// 2. on A, timed: `gc -m --plan P --grace 0s --json` (made while the
//    registry serves);
// 3. on A and B alike, the pushes of plan-changes.ts in --changed percent of
//    the repositories (default 1): a new tag on a revision the plan deletes,
//    and in every second one a new tagged manifest on a blob it deletes;
// 4. on A, timed: `apply P --json` (the window with a plan); its
//    `apply.repositoriesReread` must equal the repositories changed;
// 5. on B, timed: `gc -m --grace 0s --json` (the window without one);
// 6. printed: the three wall times, apply / direct, each run's phasesMs side
//    by side (the deletion phases, sweep, recheck and sweep-blobs, against the
//    rest), and what each deleted. apply and direct must delete the same
//    (counts and lists): a MISMATCH otherwise, and the exit code is 1.
//
// The copies were just written, so every run starts on a warm page cache.
//
// --trash adds a copy C: its own plan, the same changes, `apply --trash T`
// (the window with moves only), then `trash empty T` (after the window).
// --only-trash: copies B and C alone, no plain apply. --use-cached-tree:
// C is the cached tree itself, moved into the scratch directory and removed
// with it (generated again next time): at 1M blobs a copy is 5.7M inodes,
// and this machine's disk holds 16.8M, so the tree and two copies do not fit.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cachedTree } from './bench-tree.js';
import { TREE_SHAPES, type TreeShape } from './generate-tree.js';
import { chooseChanges, writeChanges } from './plan-changes.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const TIME_BIN = '/usr/bin/time';
const DELETION_PHASES = ['sweep', 'recheck', 'sweep-blobs'];
// The width of the tables' first column.
const LABEL = 44;
const USAGE =
  'usage: npm run bench:plan -- [--blobs N] [--shape many-small|settled|few-large] [--changed PERCENT] [--seed S] [--dir DIR] [--scratch DIR] [--janitor PATH] [--keep] [--trash] [--only-trash] [--use-cached-tree]';
// The width of the tables' other columns ('apply --trash' and a space).
const COLUMN = 14;

class UsageError extends Error {}

interface Options {
  blobs: number;
  shape: TreeShape;
  changed: number;
  seed: number;
  dir: string;
  scratch: string;
  janitor: string;
  keep: boolean;
  /** a third copy: the window with `apply P --trash T` (renames only), then `trash empty T` after it. */
  trash: boolean;
  /** copies B and C alone: the direct run and apply --trash, no plain apply. */
  onlyTrash: boolean;
  /** C is the cached tree itself (moved, then removed): for a disk short of inodes. */
  useCachedTree: boolean;
}

function parseOptions(): Options {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        blobs: { type: 'string', default: '100000' },
        shape: { type: 'string', default: 'many-small' },
        changed: { type: 'string', default: '1' },
        seed: { type: 'string', default: '1' },
        dir: { type: 'string', default: '.bench' },
        scratch: { type: 'string', default: os.tmpdir() },
        janitor: { type: 'string', default: path.resolve(here, '../../bin/registry-janitor.js') },
        keep: { type: 'boolean', default: false },
        trash: { type: 'boolean', default: false },
        'only-trash': { type: 'boolean', default: false },
        'use-cached-tree': { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const integer = (name: string, text: string, min: number): number => {
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} ${text}: an integer of at least ${min}`);
    return n;
  };
  const changed = Number(values.changed);
  if (!Number.isFinite(changed) || changed <= 0 || changed > 100)
    throw new UsageError(`--changed ${values.changed}: a percentage, more than 0 and at most 100`);
  const shape = TREE_SHAPES.find((s) => s === values.shape);
  if (!shape) throw new UsageError(`--shape ${values.shape}: one of ${TREE_SHAPES.join(', ')}`);
  const janitor = path.resolve(values.janitor);
  if (!fs.existsSync(janitor)) throw new UsageError(`--janitor ${janitor}: no such file`);
  return {
    blobs: integer('blobs', values.blobs, 1),
    shape,
    changed,
    seed: integer('seed', values.seed, 0),
    dir: path.resolve(values.dir),
    scratch: path.resolve(values.scratch),
    janitor,
    keep: values.keep,
    trash: values.trash || values['only-trash'] || values['use-cached-tree'],
    onlyTrash: values['only-trash'],
    useCachedTree: values['use-cached-tree'],
  };
}

// What a signal interrupts: the child running, and the scratch directory to remove.
let running: ChildProcess | undefined;
let interrupted: NodeJS.Signals | undefined;

function checkInterrupted(): void {
  if (interrupted) throw new Error(`interrupted (${interrupted})`);
}

interface Finished {
  seconds: number;
  rssMB: number | undefined;
  stdout: string;
}

/** Runs a command to its end (stdout kept whole, stderr's tail); a non-zero exit is an error naming the step. */
function runStep(label: string, argv: string[], measureRss = false): Promise<Finished> {
  checkInterrupted();
  const timeFile = path.join(os.tmpdir(), `rj-plan-bench-time-${process.pid}`);
  const withTime = measureRss && fs.existsSync(TIME_BIN);
  const full = withTime ? [TIME_BIN, '-f', '%M', '-o', timeFile, ...argv] : argv;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(full[0]!, full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    running = child;
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4096)));
    child.on('error', (error) => {
      running = undefined;
      reject(new Error(`${label}: cannot start ${full[0]}: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      running = undefined;
      const seconds = (performance.now() - started) / 1000;
      const stdout = Buffer.concat(chunks).toString();
      if (code !== 0) {
        const why = signal ? `was killed by ${signal}` : `exited ${code}`;
        reject(new Error(`${label} ${why}${interrupted ? ` (interrupted: ${interrupted})` : ''}\n${(stderr + stdout.slice(-1000)).trim()}`));
        return;
      }
      let rssMB: number | undefined;
      if (withTime) {
        const kb = Number(fs.readFileSync(timeFile, 'utf8').trim().split('\n').pop());
        fs.rmSync(timeFile, { force: true });
        if (Number.isFinite(kb)) rssMB = kb / 1024;
      }
      resolve({ seconds, rssMB, stdout });
    });
  });
}

/** The JSON of a janitor run, refused unless `ok`. */
interface RunJson {
  ok: boolean;
  error: { code: string; message: string } | null;
  blobsDeleted: string[];
  manifestsDeleted: { repository: string; digest: string }[];
  layerLinksDeleted: { repository: string; digest: string }[];
  tagsRemoved: unknown[];
  tagIndexEntriesDeleted: number;
  emptyRevisionDirectoriesDeleted: number;
  bytesFreed: number;
  phasesMs: Record<string, number>;
  apply?: { repositoriesReread: number; reread: string[]; droppedCounts: { kind: string; reason: string; count: number }[] };
}

interface JanitorRun {
  label: string;
  seconds: number;
  rssMB: number | undefined;
  json: RunJson;
}

async function runJanitor(label: string, janitor: string, args: string[]): Promise<JanitorRun> {
  const argv = [process.execPath, janitor, ...args, '--json'];
  const finished = await runStep(label, argv, true);
  let json: RunJson;
  try {
    json = JSON.parse(finished.stdout) as RunJson;
  } catch {
    throw new Error(`${label}: its output is not one JSON object: ${finished.stdout.slice(0, 300)}`);
  }
  if (!json.ok) throw new Error(`${label}: ok is false: ${json.error?.code ?? ''} ${json.error?.message ?? ''}`);
  return { label, seconds: finished.seconds, rssMB: finished.rssMB, json };
}

const fixed = (ms: number | undefined, width = COLUMN): string => (ms === undefined ? '-' : (ms / 1000).toFixed(2)).padStart(width);

function printPhases(runs: JanitorRun[]): void {
  const names: string[] = [];
  for (const run of runs) for (const name of Object.keys(run.json.phasesMs)) if (!names.includes(name)) names.push(name);
  const sum = (run: JanitorRun, deletion: boolean): number =>
    Object.entries(run.json.phasesMs)
      .filter(([name]) => DELETION_PHASES.includes(name) === deletion)
      .reduce((total, [, ms]) => total + ms, 0);
  console.log(`\n${'seconds'.padEnd(LABEL)}${runs.map((r) => r.label.padStart(COLUMN)).join('')}`);
  console.log(`${'wall time'.padEnd(LABEL)}${runs.map((r) => fixed(r.seconds * 1000)).join('')}`);
  console.log(`${'peak RSS (MB)'.padEnd(LABEL)}${runs.map((r) => (r.rssMB === undefined ? 'n/a' : r.rssMB.toFixed(0)).padStart(COLUMN)).join('')}`);
  console.log('phasesMs:');
  for (const name of names.filter((n) => !DELETION_PHASES.includes(n)))
    console.log(`  ${name.padEnd(LABEL - 2)}${runs.map((r) => fixed(r.json.phasesMs[name])).join('')}`);
  console.log(`  ${'= the rest'.padEnd(LABEL - 2)}${runs.map((r) => fixed(sum(r, false))).join('')}`);
  for (const name of DELETION_PHASES) console.log(`  ${name.padEnd(LABEL - 2)}${runs.map((r) => fixed(r.json.phasesMs[name])).join('')}`);
  console.log(`  ${`= deletion (${DELETION_PHASES.join(' + ')})`.padEnd(LABEL - 2)}${runs.map((r) => fixed(sum(r, true))).join('')}`);
}

/** Prints what each run deleted; returns the mismatches between apply and direct. */
function compareDeleted(plan: JanitorRun, apply: JanitorRun, direct: JanitorRun): string[] {
  const key = (e: { repository: string; digest: string }): string => `${e.repository}@${e.digest}`;
  const rows: { name: string; of: (j: RunJson) => number; list?: (j: RunJson) => string[] }[] = [
    { name: 'blobs', of: (j) => j.blobsDeleted.length, list: (j) => j.blobsDeleted },
    { name: 'manifests (revisions)', of: (j) => j.manifestsDeleted.length, list: (j) => j.manifestsDeleted.map(key) },
    { name: 'layer links', of: (j) => j.layerLinksDeleted.length, list: (j) => j.layerLinksDeleted.map(key) },
    { name: 'tag index entries', of: (j) => j.tagIndexEntriesDeleted },
    { name: 'tags', of: (j) => j.tagsRemoved.length },
    { name: 'empty revision directories', of: (j) => j.emptyRevisionDirectoriesDeleted },
    { name: 'bytes freed', of: (j) => j.bytesFreed },
  ];
  console.log(`\n${'deleted'.padEnd(LABEL)}${'planned'.padStart(COLUMN)}${'apply'.padStart(COLUMN)}${'direct'.padStart(COLUMN)}`);
  const mismatches: string[] = [];
  for (const row of rows) {
    const [p, a, d] = [plan, apply, direct].map((r) => row.of(r.json));
    console.log(
      `${row.name.padEnd(LABEL)}${String(p).padStart(COLUMN)}${String(a).padStart(COLUMN)}${String(d).padStart(COLUMN)}${a === d ? '' : '   <-- MISMATCH'}`,
    );
    if (a !== d) mismatches.push(`${row.name}: apply ${a}, direct ${d}`);
    else if (row.list) {
      const mine = [...row.list(apply.json)].sort();
      const theirs = [...row.list(direct.json)].sort();
      const at = mine.findIndex((entry, i) => entry !== theirs[i]);
      if (at >= 0) mismatches.push(`${row.name}: same count, different entries (first: apply ${mine[at]}, direct ${theirs[at]})`);
    }
  }
  const dropped = apply.json.apply?.droppedCounts ?? [];
  console.log(`apply dropped: ${dropped.length === 0 ? 'nothing' : dropped.map((c) => `${c.count} ${c.kind} (${c.reason})`).join(', ')}`);
  return mismatches;
}

async function main(): Promise<void> {
  const options = parseOptions();
  fs.mkdirSync(options.dir, { recursive: true });
  const { root, stats } = cachedTree(options.dir, options.shape, options.blobs, options.seed, { replaceUnfinished: false });
  console.log(
    `== plan/apply on ${options.shape}: ${stats.blobs} blobs, ${stats.repositories} repositories, ${stats.revisions} revisions, ${stats.tags} tags (${root}); ${os.cpus().length} cores, node ${process.version}`,
  );
  if (!fs.existsSync(options.scratch)) throw new UsageError(`--scratch ${options.scratch}: no such directory`);
  if (fs.statSync(options.scratch).dev !== fs.statSync(root).dev) {
    throw new UsageError(`--scratch ${options.scratch} is on another filesystem than ${root}: the copies must sit on the tree's disk (name a directory there)`);
  }
  const scratch = fs.mkdtempSync(path.join(options.scratch, 'plan-bench-'));
  let failed = true;
  try {
    const [a, b, c] = [path.join(scratch, 'a'), path.join(scratch, 'b'), path.join(scratch, 'c')];
    const plan = path.join(scratch, 'gc.plan');
    const copies: string[] = [];
    if (!options.onlyTrash) copies.push(`A ${(await runStep('cp -a (copy A)', ['cp', '-a', root, a])).seconds.toFixed(1)} s`);
    copies.push(`B ${(await runStep('cp -a (copy B)', ['cp', '-a', root, b])).seconds.toFixed(1)} s`);
    if (options.useCachedTree) {
      fs.renameSync(root, c);
      copies.push('C: the cached tree, moved');
    } else if (options.trash) copies.push(`C ${(await runStep('cp -a (copy C)', ['cp', '-a', root, c])).seconds.toFixed(1)} s`);
    console.log(`copies in ${scratch} (cp -a): ${copies.join(', ')}`);

    // The plans: A's, and C's (a plan names its root); the changes are chosen from the first.
    const cPlan = path.join(scratch, 'c.plan');
    const planned = options.onlyTrash ? undefined : await runJanitor('plan', options.janitor, ['gc', '-m', '--plan', plan, '--grace', '0s', '--root', a]);
    checkInterrupted();
    const plannedC = options.trash ? await runJanitor('plan C', options.janitor, ['gc', '-m', '--plan', cPlan, '--grace', '0s', '--root', c]) : undefined;
    checkInterrupted();
    const { repositories, changes } = chooseChanges(planned ? plan : cPlan, options.changed, options.seed);
    const nowMs = Date.now();
    for (const copy of options.onlyTrash ? [b, c] : options.trash ? [a, b, c] : [a, b]) writeChanges(copy, changes, nowMs);
    const trash = path.join(scratch, 'trash');
    if (options.trash) fs.mkdirSync(trash);
    const manifests = changes.filter((change) => change.manifest).length;
    console.log(
      `changed ${changes.length} of ${repositories} repositories (${options.changed}%) on every copy: in each a new tag on a revision the plan deletes, in ${manifests} also a new tagged manifest on a blob it deletes`,
    );

    const applied = options.onlyTrash ? undefined : await runJanitor('apply', options.janitor, ['apply', plan]);
    const direct = await runJanitor('direct', options.janitor, ['gc', '-m', '--grace', '0s', '--root', b]);
    const trashed = options.trash ? await runJanitor('apply --trash', options.janitor, ['apply', cPlan, '--trash', trash]) : undefined;
    const emptied = options.trash ? await runStep('trash empty', [process.execPath, options.janitor, 'trash', 'empty', trash]) : undefined;

    const runs = [planned, plannedC, applied, direct, trashed].filter((run): run is JanitorRun => run !== undefined);
    printPhases(runs);
    if (trashed && emptied) {
      console.log(
        `
the window with --trash: apply --trash ${trashed.seconds.toFixed(2)} s (${(trashed.seconds / direct.seconds).toFixed(3)} of the direct gc -m); then, the registry serving again, trash empty ${emptied.seconds.toFixed(2)} s`,
      );
    }
    if (planned && applied)
      console.log(
        `\nplan ${planned.seconds.toFixed(2)} s, apply ${applied.seconds.toFixed(2)} s, direct gc -m ${direct.seconds.toFixed(2)} s: apply / direct = ${(applied.seconds / direct.seconds).toFixed(3)} (issue 13's goal: at most 0.15)`,
      );
    // Each apply must delete (or move) what the direct run deletes, and read again exactly the repositories changed.
    const mismatches: string[] = [];
    for (const [label, plannedRun, applyRun] of [
      ['apply', planned, applied],
      ['apply --trash', plannedC, trashed],
    ] as const) {
      if (!plannedRun || !applyRun) continue;
      console.log(`\n${label}:`);
      mismatches.push(...compareDeleted(plannedRun, applyRun, direct).map((m) => `${label}: ${m}`));
      const reread = applyRun.json.apply?.repositoriesReread;
      if (reread !== changes.length) mismatches.push(`${label} read ${reread ?? 'no'} repositories again, ${changes.length} were changed`);
      else console.log(`${label} read again exactly the ${reread} repositories changed`);
    }
    if (mismatches.length > 0) {
      console.error(`\nMISMATCH between an apply and a direct gc -m on the same changes:\n${mismatches.map((m) => `  ${m}`).join('\n')}`);
      process.exitCode = 1;
    }
    failed = false;
  } finally {
    if (options.keep) console.log(`--keep: the copies and the plan are left in ${scratch}`);
    else {
      const removed = spawnSync('rm', ['-rf', '--one-file-system', scratch], { stdio: ['ignore', 'inherit', 'inherit'] });
      if (removed.status !== 0) console.error(`bench:plan: could not remove ${scratch}: remove it by hand`);
      else if (failed) console.error(`bench:plan: removed ${scratch}`);
    }
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // The child stops (the janitor finishes its step and exits); main() then fails and cleans up.
    interrupted = signal;
    running?.kill(signal);
  });
}

main().catch((error: unknown) => {
  const usage = error instanceof UsageError;
  console.error(`bench:plan: ${error instanceof Error ? error.message : String(error)}${usage ? `\n${USAGE}` : ''}`);
  process.exitCode = usage ? 2 : interrupted ? 130 : 1;
});
