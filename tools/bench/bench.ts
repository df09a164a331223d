// npm run bench -- [--blobs N] [--seed S] [--dir DIR] [--no-reference]
//
// Generates (once, cached under DIR) a synthetic tree of about N blobs, then
// times `gc -d` and `gc -m -d` (ours with the default -j and with -j 1, and
// Distribution's `garbage-collect` when installed) on a warm page cache,
// printing wall time, peak RSS (GNU time's %M) and the ratios. Every command
// runs once unmeasured first, to warm the cache for all of them alike.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateTree } from './generate-tree.js';

const REGISTRY_BIN = process.env.REGISTRY_BIN ?? '/usr/bin/docker-registry';
const TIME_BIN = '/usr/bin/time';
const here = path.dirname(fileURLToPath(import.meta.url));
const JANITOR = path.resolve(here, '../../bin/registry-janitor.js');

function argValue(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

interface Measured {
  label: string;
  seconds: number;
  rssMB: number | undefined;
  summary: string;
}

/** Runs a command, keeping only the tail of its stdout (the reference prints a line per blob). */
function measure(label: string, command: string[]): Promise<Measured> {
  const timeFile = path.join(os.tmpdir(), `rj-bench-time-${process.pid}`);
  const useTime = fs.existsSync(TIME_BIN);
  const argv = useTime ? [TIME_BIN, '-f', '%M', '-o', timeFile, ...command] : command;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-4096)));
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4096)));
    child.on('error', reject);
    child.on('exit', (code) => {
      const seconds = (performance.now() - started) / 1000;
      if (code !== 0) {
        reject(new Error(`${label} exited ${code}: ${stderr}${tail}`));
        return;
      }
      const rssKB = useTime ? Number(fs.readFileSync(timeFile, 'utf8').trim().split('\n').pop()) : NaN;
      const revalidate = /"revalidate":(\d+)/.exec(tail)?.[1];
      const summary =
        (/(\d+ blobs marked, \d+ blobs and \d+ manifests eligible for deletion)/.exec(tail)?.[1] ?? '') +
        (revalidate === undefined ? '' : `revalidation pass ${revalidate} ms (${(Number(revalidate) / 10 / seconds).toFixed(2)}% of the run)`);
      resolve({ label, seconds, rssMB: Number.isFinite(rssKB) ? rssKB / 1024 : undefined, summary });
    });
  });
}

async function main(): Promise<void> {
  const blobs = Number(argValue('--blobs', '100000'));
  const seed = Number(argValue('--seed', '1'));
  const dir = path.resolve(argValue('--dir', '.bench'));
  const skipReference = process.argv.includes('--no-reference');
  const withReference = !skipReference && fs.existsSync(REGISTRY_BIN);
  const root = path.join(dir, `tree-${blobs}-seed${seed}`);
  const marker = path.join(root, '.generated.json');

  if (!fs.existsSync(marker)) {
    fs.rmSync(root, { recursive: true, force: true });
    console.log(`generating ~${blobs} blobs (seed ${seed}) under ${root} ...`);
    const started = performance.now();
    const stats = generateTree({ blobs, seed, root });
    fs.writeFileSync(marker, JSON.stringify(stats));
    console.log(`generated in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  const stats = JSON.parse(fs.readFileSync(marker, 'utf8'));
  console.log(
    `tree: ${stats.blobs} blobs, ${stats.repositories} repositories, ${stats.revisions} revisions, ${stats.tags} tags; ${os.cpus().length} cores, node ${process.version}`,
  );

  const config = path.join(dir, 'bench-config.yml');
  fs.writeFileSync(config, `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${root}\nhttp:\n  addr: 127.0.0.1:0\n`);
  // --grace 0s: the tree was just generated, so the default window (1h)
  // would spare all of it; the reference has no window.
  const runs: [string, string[]][] = [
    ['janitor gc -d', [process.execPath, JANITOR, 'gc', '-d', '--grace', '0s', '--json', '--root', root]],
    ['janitor gc -d -j 1', [process.execPath, JANITOR, 'gc', '-d', '-j', '1', '--grace', '0s', '--json', '--root', root]],
    ['janitor gc -m -d', [process.execPath, JANITOR, 'gc', '-m', '-d', '--grace', '0s', '--json', '--root', root]],
    ['janitor gc -m -d -j 1', [process.execPath, JANITOR, 'gc', '-m', '-d', '-j', '1', '--grace', '0s', '--json', '--root', root]],
  ];
  if (withReference) {
    runs.push(['reference garbage-collect -d', [REGISTRY_BIN, 'garbage-collect', '-d', config]]);
    runs.push(['reference garbage-collect -m -d', [REGISTRY_BIN, 'garbage-collect', '-m', '-d', config]]);
  } else {
    console.log(skipReference ? '(--no-reference: reference not measured)' : `(${REGISTRY_BIN} not installed: reference not measured)`);
  }
  const results = new Map<string, Measured>();
  for (const [label, command] of runs) {
    await measure(label, command); // warm-up, unmeasured
    const m = await measure(label, command);
    results.set(label, m);
    console.log(
      `${label.padEnd(34)} ${m.seconds.toFixed(2).padStart(8)} s  ${m.rssMB === undefined ? '   n/a' : m.rssMB.toFixed(0).padStart(6)} MB  ${m.summary}`,
    );
  }
  const ratio = (ours: string, reference: string): void => {
    const a = results.get(ours);
    const b = results.get(reference);
    if (!a || !b) return;
    const rss = a.rssMB && b.rssMB ? `, peak RSS ${(a.rssMB / b.rssMB).toFixed(2)}x of the reference's` : '';
    console.log(`${ours}: ${(b.seconds / a.seconds).toFixed(1)}x faster than ${reference}${rss}`);
  };
  ratio('janitor gc -d', 'reference garbage-collect -d');
  ratio('janitor gc -m -d', 'reference garbage-collect -m -d');
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
