// The complete `gc` on a procedural tree of N blobs (virtual-fs.ts), in
// this process, through the CLI (runCli) with the in-process reader (-j 1:
// the virtual tree is no path a worker thread could open):
//
//   node --max-old-space-size=4096 --max-semi-space-size=2 --import tsx \
//     tools/bench/virtual-run.ts --blobs 20000000 [--real] [-m] [--seed S]
//
// Without --real: `gc -d --json` (with -m: `gc -m -d`). With --real: the real run,
// its unlinks, rmdirs and renames recorded in the virtual filesystem's
// overlay rather than applied anywhere. Prints the counts of the JSON
// report (counted as it streams past, not held), stderr, the time, the peak RSS (process.resourceUsage().maxRSS) and the bytes
// per blob, and the overlay's size (this harness's own memory, part of the
// RSS in a real run).

import { runCli } from '../../src/cli/index.js';
import { VIRTUAL_ROOT, VirtualFileSystem, VirtualTree } from './virtual-fs.js';

function argValue(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const blobs = Number(argValue('--blobs', '1000000'));
const seed = Number(argValue('--seed', '1'));
const real = process.argv.includes('--real');
const untagged = process.argv.includes('-m');
const tree = new VirtualTree(blobs, seed);
const fs = new VirtualFileSystem(tree);
// --json: streamed in chunks that never split an item (report/render-gc.ts),
// so the lists are counted here as they pass, never held.
const args = ['gc', ...(untagged ? ['-m'] : []), ...(real ? [] : ['-d']), '--json', '--grace', '0s', '-j', '1', '--root', VIRTUAL_ROOT];

const listed: Record<string, number> = {};
const fields: Record<string, string> = {};
let section = '';
let printed = 0;
const summary: string[] = [];
const keep = (text: string): void => {
  printed += text.length;
  for (const m of text.matchAll(/"(blobsMarked|bytesFreed|revalidations|ok)":([^,[{]+)/g)) fields[m[1]!] = m[2]!;
  const phases = /"phasesMs":(\{[^}]*\})/.exec(text);
  if (phases) fields.phasesMs = phases[1]!;
  const parts = text.split(/"(\w+)":\[/);
  for (let i = 0; i < parts.length; i++) {
    if (i % 2 === 1) section = parts[i]!;
    else listed[section] = (listed[section] ?? 0) + (parts[i]!.match(/"sha256:/g)?.length ?? 0);
  }
};
const diagnose = (text: string): void => void summary.push(text.trim());
const rssBefore = process.resourceUsage().maxRSS;
const started = performance.now();
const code = await runCli(args, { fs, env: {}, stdout: keep, stderr: diagnose });
const seconds = (performance.now() - started) / 1000;
const maxRssKB = process.resourceUsage().maxRSS;
for (const line of summary) console.log(`  ${line}`);
console.log(
  JSON.stringify({
    command: `registry-janitor ${args.join(' ')}`,
    exit: code,
    blobs: tree.blobs,
    repositories: tree.repositories,
    seconds: Math.round(seconds * 10) / 10,
    peakRssMB: Math.round(maxRssKB / 1024),
    rssBeforeRunMB: Math.round(rssBefore / 1024),
    bytesPerBlob: Math.round((maxRssKB * 1024) / tree.blobs),
    blobsMarked: Number(fields.blobsMarked),
    blobsDeleted: listed.blobsDeleted ?? 0,
    manifestsDeleted: listed.manifestsDeleted ?? 0,
    layerLinksDeleted: listed.layerLinksDeleted ?? 0,
    bytesFreed: Number(fields.bytesFreed),
    phasesMs: fields.phasesMs === undefined ? undefined : (JSON.parse(fields.phasesMs) as unknown),
    overlayPaths: fs.overlaySize(),
    fsCalls: fs.counts,
    outputBytes: printed,
  }),
);
process.exitCode = code;
