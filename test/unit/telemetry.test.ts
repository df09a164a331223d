// --metrics-file (node_exporter's textfile format, written atomically, failed
// runs included, the last success carried over) and --log-format json
// (stderr as NDJSON events), on memfs through the CLI.
import { describe, expect, it } from 'vitest';
import { ROOT, V2, exists, listFiles } from '../support/memfs-tree.js';
import { sampleTree } from '../support/sample-tree.js';
import { runCliOn } from '../support/run-cli.js';
import { HOUR, writeUpload } from '../support/uploads.js';

const DIR = '/var/lib/node_exporter';
const PROM = `${DIR}/registry_janitor.prom`;

function treeWithDir() {
  const tree = sampleTree();
  tree.fs.mkdirSync(DIR, { recursive: true });
  return tree;
}

/** The samples of a textfile: `name{labels}` -> value; every line is a comment or a well-formed sample. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.trimEnd().split('\n')) {
    if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const match = /^([a-z_]+\{(?:[a-z_]+="(?:[^"\\]|\\.)*",?)*\}) (-?[0-9.e+]+)$/.exec(line);
    expect(match, line).not.toBeNull();
    out.set(match?.[1] ?? '', Number(match?.[2]));
  }
  return out;
}

describe('--metrics-file', () => {
  it('a real gc -m: start, end, success, exit status, phases, what it deleted and freed, warnings by code, the version', async () => {
    const { fs, tree } = treeWithDir();
    writeUpload(fs, tree, 'team/web', 'eb7f3189-71a4-42a4-96da-56b7c16afbd3', { ageMs: 10 * 24 * HOUR });
    // An orphan blob pushed a moment ago: the grace window (1h) keeps it.
    const fresh = tree.putBlob('pushed a moment ago');
    fs.utimesSync(tree.pathOf({ kind: 'blobData', digest: fresh }), Date.now() / 1000, Date.now() / 1000);
    const run = await runCliOn(fs, ['gc', '-m', '--root', ROOT, '--json', '--metrics-file', PROM]);
    expect(run.code, run.stderr).toBe(0);
    const m = samples(fs.readFileSync(PROM, 'utf8'));
    const at = (name: string, labels = ''): number | undefined => m.get(`registry_janitor_${name}{command="gc"${labels}}`);
    expect(at('last_run_success')).toBe(1);
    expect(at('last_run_exit_status')).toBe(0);
    expect(at('last_run_dry_run')).toBe(0);
    expect(at('last_run_end_timestamp_seconds')).toBeGreaterThanOrEqual(at('last_run_start_timestamp_seconds') ?? Infinity);
    expect(at('last_success_timestamp_seconds')).toBe(at('last_run_end_timestamp_seconds'));
    expect(at('last_run_deleted', ',kind="blobs"')).toBe(run.json.blobsDeleted.length);
    expect(at('last_run_deleted', ',kind="manifests"')).toBe(run.json.manifestsDeleted.length);
    expect(at('last_run_deleted', ',kind="layer_links"')).toBe(run.json.layerLinksDeleted.length);
    expect(at('last_run_deleted', ',kind="uploads"')).toBe(1);
    expect(run.json.uploads.purgedCount).toBe(1);
    expect(at('last_run_deleted', ',kind="repositories"')).toBe(0);
    expect(at('last_run_freed_bytes')).toBe(run.json.bytesFreed);
    expect(at('last_run_kept_by_grace', ',kind="layer_links"')).toBe(0);
    expect(at('last_run_kept_by_grace', ',kind="blobs"')).toBe(1);
    expect(at('last_run_kept_by_grace_bytes')).toBe('pushed a moment ago'.length);
    expect(run.json.blobsDeleted).not.toContain(fresh);
    expect(at('last_run_phase_duration_seconds', ',phase="mark"')).toBeGreaterThanOrEqual(0);
    expect(at('last_run_warning_count')).toBe(run.json.warnings.length);
    expect(m.get(`registry_janitor_version_info{command="gc",version="${run.json.version}"}`)).toBe(1);
    // renamed into place: nothing else left in the directory
    expect(listFiles(fs, DIR)).toEqual(['registry_janitor.prom']);
  });

  it('a failed run writes it too (success 0, its exit status) and keeps the last success of the run before', async () => {
    const { fs } = treeWithDir();
    expect((await runCliOn(fs, ['gc', '-d', '--root', ROOT, '--metrics-file', PROM])).code).toBe(0);
    const before = samples(fs.readFileSync(PROM, 'utf8')).get('registry_janitor_last_success_timestamp_seconds{command="gc"}');
    expect(before).toBeGreaterThan(0);
    const failed = await runCliOn(fs, ['gc', '--root', '/nowhere', `--metrics-file=${PROM}`]);
    expect(failed.code).toBe(1);
    const m = samples(fs.readFileSync(PROM, 'utf8'));
    expect(m.get('registry_janitor_last_run_success{command="gc"}')).toBe(0);
    expect(m.get('registry_janitor_last_run_exit_status{command="gc"}')).toBe(1);
    expect(m.get('registry_janitor_last_success_timestamp_seconds{command="gc"}')).toBe(before);
    const usage = await runCliOn(fs, ['--metrics-file', PROM, 'gc', '--root', ROOT, '--list', '0']);
    expect(usage.code).toBe(2);
    expect(samples(fs.readFileSync(PROM, 'utf8')).get('registry_janitor_last_run_exit_status{command="gc"}')).toBe(2);
  });

  it('refuses a file inside the registry tree, a missing directory and an empty path', async () => {
    const { fs } = treeWithDir();
    const files = listFiles(fs, V2).length;
    const inside = await runCliOn(fs, ['gc', '-d', '--root', ROOT, '--metrics-file', `${V2}/metrics.prom`]);
    expect(inside.code).toBe(1);
    expect(inside.stderr).toMatch(/--metrics-file .*: not written: it is inside the registry's tree/);
    expect(exists(fs, `${V2}/metrics.prom`)).toBe(false);
    expect(listFiles(fs, V2)).toHaveLength(files);
    const missing = await runCliOn(fs, ['gc', '-d', '--root', ROOT, '--metrics-file', '/no/such/dir/m.prom']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/not written: ENOENT/);
    const empty = await runCliOn(fs, ['gc', '-d', '--root', ROOT, '--metrics-file', '']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/--metrics-file is empty/);
  });
});

describe('--log-format json', () => {
  const events = (stderr: string) =>
    stderr
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));

  it('stderr is NDJSON: phases as they begin and end, progress, warnings, the summary, each with its time', async () => {
    const run = await runCliOn(sampleTree().fs, ['gc', '-m', '--root', ROOT, '--log-format', 'json']);
    expect(run.code).toBe(0);
    const all = events(run.stderr);
    for (const e of all) expect(e).toMatchObject({ time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), level: expect.any(String), event: expect.any(String) });
    const kinds = all.map((e) => `${e.event}${e.phase ? ` ${e.phase}` : ''}`);
    expect(kinds).toEqual(expect.arrayContaining(['phase-begin mark', 'phase-end mark', 'phase-begin sweep-blobs', 'phase-end sweep-blobs', 'summary']));
    expect(kinds.indexOf('phase-begin mark')).toBeLessThan(kinds.indexOf('phase-end mark'));
    const progress = all.filter((e) => e.event === 'progress' && e.phase === 'sweep-blobs');
    expect(progress.at(-1)).toMatchObject({ done: expect.any(Number), bytes: expect.any(Number) });
    expect(all.at(-1)).toMatchObject({ event: 'summary', command: 'gc', exitStatus: 0, dryRun: false, manifestsDeleted: 1 });
    // the human report is still on stdout
    expect(run.stdout).toMatch(/blobs marked/);
  });

  it('ls, verify and tags rm give typed phase events too, and every stderr line is JSON', async () => {
    for (const [args, phase] of [
      [['ls'], 'scan'],
      [['verify'], 'check'],
      [['tags', 'rm', '-d', 'team/web:v1'], 'select'],
    ] as const) {
      const run = await runCliOn(sampleTree().fs, [...args, '--root', ROOT, '--log-format', 'json']);
      const all = events(run.stderr);
      const kinds = all.map((e) => `${e.event}${e.phase ? ` ${e.phase}` : ''}`);
      expect(kinds, args.join(' ')).toEqual(expect.arrayContaining([`phase-begin ${phase}`, `phase-end ${phase}`, 'summary']));
      expect(
        kinds.filter((k) => k.startsWith('message')),
        args.join(' '),
      ).toEqual([]);
    }
  });

  it('a failure is an error event and a summary with its exit status; --log-format takes text or json only', async () => {
    const run = await runCliOn(sampleTree().fs, ['gc', '--root', '/nowhere', '--log-format=json']);
    expect(run.code).toBe(1);
    const all = events(run.stderr);
    expect(all[0]).toMatchObject({ level: 'error', event: 'error', message: expect.stringMatching(/does not exist/) });
    expect(all.at(-1)).toMatchObject({ event: 'summary', exitStatus: 1, level: 'error' });
    const bad = await runCliOn(sampleTree().fs, ['gc', '--root', ROOT, '--log-format', 'xml']);
    expect(bad.code).toBe(2);
  });
});
