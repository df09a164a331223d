// npm run bench -- [--blobs N] [--shape few-large|many-small|both] [--runs R] [--cold | --warm-each]
//                  [--seed S] [--dir DIR] [--no-reference] [--no-baseline] [--janitor PATH]
//
// Generates (once, cached under DIR) a synthetic tree of about N blobs per
// shape (generate-tree.ts: few-large, the original 500-repositories-per-1M
// tree, and many-small, 1,400 repositories and ~14k tags per 100k blobs),
// then times on each: our `gc -d` and `gc -m -d` (default -j, and -j 1
// where the default is more),
// Distribution's `garbage-collect -d` and `-m -d` (when installed), and the
// minimal-reads baseline (minimal-reads.ts: one thread, and 32 reads in
// flight). Printed: the median of R runs (wall time, peak RSS from GNU
// time's %M), the ratios, and the counts each run reported, with ours
// checked against the reference's (plain gc: blobs marked and eligible are
// equal; -m: ours keeps the children and referrers of kept indexes, so it
// deletes a subset).
//
// Warm (the default): every command runs once unmeasured first; the R runs
// then go round-robin over the commands, so load from elsewhere on the
// machine falls on all of them alike. --cold: `sync; echo 3 >
// /proc/sys/vm/drop_caches` (root only) before every timed run, no warm-up.
// --warm-each: every timed run comes right after an unmeasured run of the
// same command, so each is timed on the cache its own kind of run leaves.
// On a tree whose metadata does not all stay cached (the many-small 1M
// tree: 5.67M inodes, on a 24 GiB host whose buffers, page cache and inode
// and dentry slabs were all full after a run), the round-robin times
// whichever command follows 2.8.2's -m -d partly cold (2.8.2 lists each of
// the 1M blob directories, which ours never read): `gc -m -d` took 35.7 s
// right after it and 22.5 s run twice in a row (2026-12-03). This doubles
// the bench's time.
//
// The baseline's time is what it reports itself (first read to last): its
// process start (tsx) is left out, so it is a floor the others are held to.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultConcurrency } from '../../src/cli/options.js';
import { cachedTree } from './bench-tree.js';
import { TREE_SHAPES, type TreeShape } from './generate-tree.js';

const REGISTRY_BIN = process.env.REGISTRY_BIN ?? '/usr/bin/docker-registry';
const TIME_BIN = '/usr/bin/time';
const here = path.dirname(fileURLToPath(import.meta.url));
const TSX = path.resolve(here, '../../node_modules/.bin/tsx');
const MINIMAL_READS = path.join(here, 'minimal-reads.ts');
const BASELINE_INFLIGHT = 32;
const REFERENCE_SUMMARY = /(\d+) blobs marked, (\d+) blobs and (\d+) manifests eligible for deletion/;

function argValue(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

/** What a run reported: the reference's summary line, our JSON, the baseline's JSON. */
interface Counts {
  blobsMarked?: number;
  blobsEligible?: number;
  manifestsEligible?: number;
  revalidateMs?: number;
  /** the baseline's own elapsed time, reads only */
  selfMs?: number;
  text: string;
}

interface Measured {
  seconds: number;
  rssMB: number | undefined;
  counts: Counts;
}

type Kind = 'janitor' | 'listing' | 'reference' | 'baseline';
interface Command {
  label: string;
  kind: Kind;
  argv: string[];
  env?: NodeJS.ProcessEnv;
}

function parseCounts(kind: Kind, stdout: string): Counts {
  if (kind === 'listing') return { text: `${stdout.split('\n').length} lines listed` };
  if (kind === 'reference') {
    const m = REFERENCE_SUMMARY.exec(stdout);
    if (!m) return { text: '' };
    return { blobsMarked: Number(m[1]), blobsEligible: Number(m[2]), manifestsEligible: Number(m[3]), text: m[0] };
  }
  const json = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as {
    blobsMarked?: number;
    blobsDeleted?: unknown[];
    manifestsDeleted?: unknown[];
    phasesMs?: { revalidate?: number };
    ms?: number;
    listings?: number;
    links?: number;
    manifests?: number;
  };
  if (kind === 'baseline') {
    return { selfMs: json.ms, text: `${json.listings} listings, ${json.links} links and ${json.manifests} manifests read` };
  }
  const counts: Counts = {
    blobsMarked: json.blobsMarked,
    blobsEligible: json.blobsDeleted?.length,
    manifestsEligible: json.manifestsDeleted?.length,
    revalidateMs: json.phasesMs?.revalidate,
    text: '',
  };
  counts.text = `${counts.blobsMarked} blobs marked, ${counts.blobsEligible} blobs and ${counts.manifestsEligible} manifests eligible for deletion`;
  return counts;
}

/** Runs a command; our JSON is kept whole, of the reference's output (a line per blob) only its summary line and tail. */
function measure(command: Command): Promise<Measured> {
  const timeFile = path.join(os.tmpdir(), `rj-bench-time-${process.pid}`);
  const useTime = fs.existsSync(TIME_BIN);
  const argv = useTime ? [TIME_BIN, '-f', '%M', '-o', timeFile, ...command.argv] : command.argv;
  const keepAll = command.kind !== 'reference';
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: command.env ?? process.env });
    const chunks: Buffer[] = [];
    let tail = '';
    let stderr = '';
    // 2.8.2 prints its summary line before the line per blob eligible: it
    // is looked for in a window sliding over the output.
    let summaryLine = '';
    child.stdout.on('data', (chunk: Buffer) => {
      if (keepAll) chunks.push(chunk);
      else {
        const window = tail.slice(-200) + chunk.toString();
        summaryLine = REFERENCE_SUMMARY.exec(window)?.[0] ?? summaryLine;
        tail = window.slice(-4096);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4096)));
    child.on('error', reject);
    child.on('exit', (code) => {
      const seconds = (performance.now() - started) / 1000;
      const stdout = keepAll ? Buffer.concat(chunks).toString() : `${summaryLine}\n${tail}`;
      if (code !== 0) {
        reject(new Error(`${command.label} exited ${code}: ${stderr}${stdout.slice(-2000)}`));
        return;
      }
      const rssKB = useTime ? Number(fs.readFileSync(timeFile, 'utf8').trim().split('\n').pop()) : NaN;
      const counts = parseCounts(command.kind, stdout);
      resolve({ seconds: counts.selfMs === undefined ? seconds : counts.selfMs / 1000, rssMB: Number.isFinite(rssKB) ? rssKB / 1024 : undefined, counts });
    });
  });
}

function dropCaches(): void {
  const result = spawnSync('sh', ['-c', 'sync; echo 3 > /proc/sys/vm/drop_caches'], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error('--cold: could not drop the page cache (root only: sync; echo 3 > /proc/sys/vm/drop_caches)');
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

interface Row {
  label: string;
  kind: Kind;
  seconds: number;
  spread: string;
  rssMB: number | undefined;
  counts: Counts;
}

async function benchShape(
  shape: TreeShape,
  options: { blobs: number; seed: number; dir: string; runs: number; cold: boolean; warmEach: boolean; reference: boolean; baseline: boolean; janitor: string },
): Promise<Row[]> {
  const { root, stats } = cachedTree(options.dir, shape, options.blobs, options.seed, { replaceUnfinished: true });
  console.log(`\n== ${shape}: ${stats.blobs} blobs, ${stats.repositories} repositories, ${stats.revisions} revisions, ${stats.tags} tags (${root})`);
  const config = path.join(options.dir, `bench-config-${shape}.yml`);
  fs.writeFileSync(config, `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${root}\nhttp:\n  addr: 127.0.0.1:0\n`);
  // --grace 0s: the tree was just generated, so the default window (1h)
  // would spare all of it; the reference has no window.
  const ours = (label: string, ...flags: string[]): Command => ({
    label,
    kind: 'janitor',
    argv: [process.execPath, options.janitor, 'gc', ...flags, '--grace', '0s', '--json', '--root', root],
  });
  // Where -j defaults to 1 (2 cores or fewer), the -j 1 rows would be the
  // same commands again: left out, so each round is shorter and no pair of
  // identical rows reads as two settings.
  const singleByDefault = defaultConcurrency(os.availableParallelism()) === 1;
  if (singleByDefault) console.log('-j defaults to 1 on this machine: no separate -j 1 rows');
  const commands: Command[] = [
    ours('janitor gc -d', '-d'),
    ...(singleByDefault ? [] : [ours('janitor gc -d -j 1', '-d', '-j', '1')]),
    ours('janitor gc -m -d', '-m', '-d'),
    ...(singleByDefault ? [] : [ours('janitor gc -m -d -j 1', '-m', '-d', '-j', '1')]),
    // Issue 10: ls on the same tree no slower than gc -m -d, its rows streamed (the human table: the JSON is one object).
    { label: 'janitor ls', kind: 'listing', argv: [process.execPath, options.janitor, 'ls', '--root', root] },
  ];
  if (options.reference) {
    commands.push({ label: 'reference garbage-collect -d', kind: 'reference', argv: [REGISTRY_BIN, 'garbage-collect', '-d', config] });
    commands.push({ label: 'reference garbage-collect -m -d', kind: 'reference', argv: [REGISTRY_BIN, 'garbage-collect', '-m', '-d', config] });
  }
  if (options.baseline) {
    commands.push({ label: 'minimal reads, 1 thread', kind: 'baseline', argv: [TSX, MINIMAL_READS, root] });
    commands.push({
      label: `minimal reads, ${BASELINE_INFLIGHT} in flight`,
      kind: 'baseline',
      argv: [TSX, MINIMAL_READS, root, '--inflight', String(BASELINE_INFLIGHT)],
      env: { ...process.env, UV_THREADPOOL_SIZE: String(BASELINE_INFLIGHT) },
    });
  }
  if (!options.cold && !options.warmEach) for (const command of commands) await measure(command); // warm-up, unmeasured
  const samples = new Map<string, Measured[]>(commands.map((c) => [c.label, []]));
  // Each round starts one command further along the list: whichever command
  // runs right after 2.8.2's -m -d (which leaves much of a 1M tree's cache
  // cold) or the 32-in-flight baseline is slowed, and with a fixed order it
  // was always the same one (on 2026-12-03 it had made -j 2 look slower
  // than -j 1 at 1M blobs, where alternated it is 1.5x faster).
  for (let run = 0; run < options.runs; run++) {
    for (const command of rotate(commands, run)) {
      if (options.cold) dropCaches();
      if (options.warmEach) await measure(command); // its own warm-up, unmeasured
      samples.get(command.label)!.push(await measure(command));
    }
  }
  const rows: Row[] = commands.map((command) => {
    const list = samples.get(command.label)!;
    const seconds = list.map((m) => m.seconds);
    const rss = list.map((m) => m.rssMB).filter((v): v is number => v !== undefined);
    return {
      label: command.label,
      kind: command.kind,
      seconds: median(seconds),
      spread: `${Math.min(...seconds).toFixed(2)}-${Math.max(...seconds).toFixed(2)}`,
      rssMB: rss.length > 0 ? median(rss) : undefined,
      counts: list[list.length - 1]!.counts,
    };
  });
  for (const row of rows) {
    const revalidate = row.counts.revalidateMs === undefined ? '' : `; revalidation ${row.counts.revalidateMs} ms`;
    console.log(
      `${row.label.padEnd(34)} ${row.seconds.toFixed(2).padStart(8)} s (${row.spread})  ${row.rssMB === undefined ? '   n/a' : row.rssMB.toFixed(0).padStart(6)} MB  ${row.counts.text}${revalidate}`,
    );
  }
  const find = (label: string): Row | undefined => rows.find((r) => r.label === label);
  const check = (ours: string, reference: string, mustEqual: boolean): void => {
    const a = find(ours)?.counts;
    const b = find(reference)?.counts;
    if (!a || !b || b.blobsMarked === undefined) return;
    const same = a.blobsMarked === b.blobsMarked && a.blobsEligible === b.blobsEligible;
    if (mustEqual) {
      console.log(`${ours}: blobs marked and eligible ${same ? 'equal the reference' : `DIFFER from the reference (${a.text} / ${b.text})`}`);
    } else {
      const subset = (a.blobsEligible ?? 0) <= (b.blobsEligible ?? 0) && (a.manifestsEligible ?? 0) <= (b.manifestsEligible ?? 0);
      console.log(
        `${ours}: ${same ? 'equal to the reference' : `${(b.blobsEligible ?? 0) - (a.blobsEligible ?? 0)} blobs and ${(b.manifestsEligible ?? 0) - (a.manifestsEligible ?? 0)} manifests fewer than the reference (the children and referrers of kept indexes)`}${subset ? '' : ' -- NOT a subset: check'}`,
      );
    }
  };
  check('janitor gc -d', 'reference garbage-collect -d', true);
  check('janitor gc -d -j 1', 'reference garbage-collect -d', true);
  check('janitor gc -m -d', 'reference garbage-collect -m -d', false);
  check('janitor gc -m -d -j 1', 'reference garbage-collect -m -d', false);
  return rows;
}

function ratios(shapes: Map<TreeShape, Row[]>): void {
  const labels = [...shapes.values()][0]?.map((r) => r.label) ?? [];
  const names = [...shapes.keys()];
  console.log(`\n== side by side (median s / peak RSS MB; ratio: reference time / ours, our RSS / reference's)`);
  console.log(`${''.padEnd(34)} ${names.map((n) => n.padStart(26)).join(' ')}`);
  for (const label of labels) {
    const cells = names.map((name) => {
      const row = shapes.get(name)?.find((r) => r.label === label);
      return (row ? `${row.seconds.toFixed(2)} s ${row.rssMB === undefined ? 'n/a' : row.rssMB.toFixed(0)} MB` : '').padStart(26);
    });
    console.log(`${label.padEnd(34)} ${cells.join(' ')}`);
  }
  const pairs: [string, string][] = [
    ['janitor gc -d', 'reference garbage-collect -d'],
    ['janitor gc -d -j 1', 'reference garbage-collect -d'],
    ['janitor gc -m -d', 'reference garbage-collect -m -d'],
    ['janitor gc -m -d -j 1', 'reference garbage-collect -m -d'],
    ['janitor gc -m -d', `minimal reads, ${BASELINE_INFLIGHT} in flight`],
    ['janitor gc -m -d', 'minimal reads, 1 thread'],
    ['janitor gc -d', `minimal reads, ${BASELINE_INFLIGHT} in flight`],
    ['janitor ls', 'janitor gc -m -d'],
  ];
  for (const [ours, other] of pairs) {
    // A pair with a row missing on every shape (the -j 1 rows, the baseline) prints no line.
    const present = names.some((name) => {
      const rows = shapes.get(name) ?? [];
      return rows.some((r) => r.label === ours) && rows.some((r) => r.label === other);
    });
    if (!present) continue;
    const cells = names.map((name) => {
      const rows = shapes.get(name) ?? [];
      const a = rows.find((r) => r.label === ours);
      const b = rows.find((r) => r.label === other);
      if (!a || !b) return ''.padStart(26);
      const rss = a.rssMB && b.rssMB && b.kind === 'reference' ? `, RSS ${(a.rssMB / b.rssMB).toFixed(2)}x` : '';
      const text =
        b.kind === 'baseline'
          ? `${(a.seconds / b.seconds).toFixed(2)}x the baseline`
          : b.kind === 'janitor'
            ? `${(a.seconds / b.seconds).toFixed(2)}x its time`
            : `${(b.seconds / a.seconds).toFixed(1)}x faster${rss}`;
      return text.padStart(26);
    });
    console.log(`${`${ours} vs ${other.replace('reference ', '')}`.padEnd(34).slice(0, 60)} ${cells.join(' ')}`);
  }
}

async function main(): Promise<void> {
  const blobs = Number(argValue('--blobs', '100000'));
  const seed = Number(argValue('--seed', '1'));
  const runs = Number(argValue('--runs', '3'));
  const dir = path.resolve(argValue('--dir', '.bench'));
  const janitor = path.resolve(argValue('--janitor', path.resolve(here, '../../bin/registry-janitor.js')));
  const shapeArg = argValue('--shape', 'both');
  // both: the two shapes issue 10's figures are for (settled is for bench:plan).
  const shapes: TreeShape[] = shapeArg === 'both' ? ['few-large', 'many-small'] : TREE_SHAPES.filter((s) => s === shapeArg);
  if (shapes.length === 0) throw new Error(`--shape: one of ${TREE_SHAPES.join(', ')} or both`);
  const cold = process.argv.includes('--cold');
  const warmEach = process.argv.includes('--warm-each');
  if (cold && warmEach) throw new Error('--cold and --warm-each: one or the other');
  const skipReference = process.argv.includes('--no-reference');
  const reference = !skipReference && fs.existsSync(REGISTRY_BIN);
  const baseline = !process.argv.includes('--no-baseline');
  fs.mkdirSync(dir, { recursive: true });
  console.log(
    `${cold ? 'cold (caches dropped before every timed run)' : warmEach ? 'warm (each timed run right after an unmeasured run of the same command)' : 'warm (one unmeasured run each first)'}, median of ${runs}; ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`,
  );
  if (!reference) console.log(skipReference ? '(--no-reference: reference not measured)' : `(${REGISTRY_BIN} not installed: reference not measured)`);
  const results = new Map<TreeShape, Row[]>();
  for (const shape of shapes) results.set(shape, await benchShape(shape, { blobs, seed, dir, runs, cold, warmEach, reference, baseline, janitor }));
  ratios(results);
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});

/** `items` starting at `by` (modulo its length), wrapping around. */
function rotate<T>(items: readonly T[], by: number): T[] {
  const start = items.length === 0 ? 0 : by % items.length;
  return [...items.slice(start), ...items.slice(0, start)];
}
