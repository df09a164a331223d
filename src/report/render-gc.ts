// Rendering results: a human summary (with the reference's own counts line)
// or exactly one JSON object. Pure functions of the result: the CLI writes.

import type { GcResult, RepoOutcome } from '../commands/gc/index.js';
import type { FreeReport } from '../commands/gc/free-target.js';
import type { Digest } from '../model/digest.js';
import { type RunStamp, count, formatBytes } from './format.js';
import { type Paint, plain } from './paint.js';
import { housekeepingJson, renderHousekeeping } from './render-housekeeping.js';
import { renderWarnings } from './render-warnings.js';
import { decisionJson, renderDecisions } from './render-tags-rm.js';

export { formatBytes };

function pad(text: string | number, width: number, right = false): string {
  const s = String(text);
  return right ? s.padStart(width) : s.padEnd(width);
}

function verbOf(result: GcResult): string {
  if (result.sweepError) return 'planned for deletion';
  if (result.dryRun) return 'eligible for deletion';
  return result.trash ? 'moved to the trash' : 'deleted';
}

/** The bytes line: freed, or (--trash) moved into DIR and not freed. */
function bytesLine(result: GcResult): string {
  const bytes = formatBytes(result.bytesFreed);
  if (!result.trash) return `${bytes} ${result.dryRun ? 'would be freed' : 'freed'}`;
  const { dir } = result.trash;
  return `${bytes} ${result.dryRun ? 'would be moved' : 'moved'} to the trash ${dir}: nothing is freed until \`registry-janitor trash empty ${dir}\``;
}

function sum(result: GcResult, pick: (o: RepoOutcome) => number): number {
  return result.repositories.reduce((total, o) => total + pick(o), 0);
}

export interface GcHumanOptions {
  /** a dry run lists this many entries per group, largest first (Infinity: all). */
  list?: number;
  /** a row for every repository (--verbose), not only those where something changes. */
  verbose?: boolean;
}

/** Whether the run deletes (or would delete) anything in the repository. */
function changes(o: RepoOutcome): boolean {
  return o.tagsRemoved.length + o.manifestsDeleted.length + o.layerLinksDeleted.length + o.linklessRevisions.length + o.tagIndexEntries.size > 0;
}

export function renderGcHuman(result: GcResult, command = 'gc', paint: Paint = plain, options: GcHumanOptions = {}): string {
  const lines: string[] = [];
  const verb = verbOf(result);
  const mode = `${result.dryRun ? 'dry run' : 'real run'}${result.deleteUntagged ? ', deleting untagged manifests (-m)' : ''}`;
  lines.push(`registry-janitor ${command} (${mode}) on ${result.v2 ?? result.root}`);
  const decisions = renderDecisions(result.repositories, result.dryRun);
  if (decisions.length > 0) lines.push('', ...decisions);
  // Only the repositories where something changes (2,826 rows on a 14k-repository tree otherwise), unless --verbose.
  const rows = options.verbose ? result.repositories : result.repositories.filter(changes);
  const unchanged = result.repositories.length - rows.length;
  if (rows.length > 0) {
    const width = Math.max(10, ...rows.map((r) => r.name.length));
    lines.push('');
    lines.push(
      `  ${pad('repository', width)}  ${pad('tags', 5, true)}  ${pad('revisions', 9, true)}  ${pad('manifests', 9, true)}  ${pad('layer links', 11, true)}`,
    );
    for (const repo of rows) {
      lines.push(
        `  ${pad(repo.name, width)}  ${pad(repo.tags, 5, true)}  ${pad(repo.revisions, 9, true)}  ${pad(repo.manifestsDeleted.length, 9, true)}  ${pad(repo.layerLinksDeleted.length, 11, true)}`,
      );
    }
    lines.push(`  (manifests and layer links: ${verb})`);
  }
  if (unchanged > 0)
    lines.push('', `${count(unchanged, 'repository', 'repositories')} where nothing changes${rows.length > 0 ? ' not shown' : ''} (--verbose lists them)`);
  // One line at a time: a listing of 1M blobs (--list all) is too many arguments for a spread.
  if (result.dryRun && result.blobSizes) for (const line of renderListing(result, result.blobSizes, options.list ?? 50)) lines.push(line);
  if (result.skipped.length > 0) lines.push('', `skipped (--skip-repo), kept whole: ${result.skipped.join(', ')}`);
  const manifests = sum(result, (o) => o.manifestsDeleted.length);
  lines.push('');
  const tagsRemoved = sum(result, (o) => o.tagsRemoved.length);
  if (command === 'prune') lines.push(`${count(tagsRemoved, 'tag')} ${result.dryRun ? 'would be removed' : 'removed'}`);
  lines.push(paint.strong(summaryLine(result, verb)));
  const layerLinks = sum(result, (o) => o.layerLinksDeleted.length);
  lines.push(`${count(layerLinks, 'layer link')} ${verb}`);
  lines.push(paint.strong(bytesLine(result)));
  // A sweep stopped part-way says so below, with what it freed.
  if (result.free && !result.sweepError) lines.push(renderFree(result.free, result.dryRun, paint));
  lines.push(...renderHousekeeping(result.housekeeping, result.dryRun, paint, result.trash !== undefined));
  const grace = result.keptByGrace;
  const spared = grace.tags + grace.manifests + grace.layerLinks + grace.blobs;
  if (spared > 0) {
    lines.push(
      paint.warn(
        `kept by the grace window (written within it; --grace): ${count(grace.tags, 'tag')}, ${count(grace.manifests, 'manifest')}, ${count(grace.layerLinks, 'layer link')}, ${count(grace.blobs, 'blob')}`,
      ),
    );
  }
  if (result.revalidations > 0)
    lines.push(paint.warn(`${count(result.revalidations, 'revalidation round')}: repositories changed while this run read them (a live registry?)`));
  if (result.registry) {
    const { config, readOnly, live } = result.registry;
    lines.push(
      `registry config ${config}: ${readOnly ? 'read-only mode' : 'not in read-only mode'}${live ? `; a registry answers at ${live}` : live === false ? '; no registry answers' : ''}`,
    );
  }
  const linkless = sum(result, (o) => o.linklessRevisions.length);
  if (linkless > 0) lines.push(`${count(linkless, 'empty revision directory', 'empty revision directories')} (left by an interrupted run) ${verb}`);
  if (result.temporaryFiles > 0) lines.push(`${count(result.temporaryFiles, 'temporary file')} of crashed registry writes ${verb} with their directories`);
  const dangling = danglingTagsOf(result);
  if (dangling.length > 0) {
    const shown = `${dangling.slice(0, 5).join(', ')}${dangling.length > 5 ? ', ...' : ''}`;
    lines.push(
      paint.warn(
        `${count(dangling.length, 'tag')} ${dangling.length === 1 ? 'does' : 'do'} not pull: a revision, manifest or blob ${dangling.length === 1 ? 'it needs' : 'they need'} is missing (${shown}; see the warnings, and run verify)`,
      ),
    );
  }
  lines.push(...renderWarnings(result.warnings, paint));
  const swept = result.swept;
  if (result.sweepError && swept) {
    const gone = result.trash ? `Moved to the trash ${result.trash.dir} before it stopped` : 'Deleted before it stopped';
    const freed = result.trash ? `${formatBytes(swept.bytes)} moved, none of it freed yet` : `${formatBytes(swept.bytes)} freed`;
    lines.push('');
    lines.push(
      paint.alarm(
        `THE SWEEP STOPPED PART-WAY. ${gone}: ${swept.tags} tags, ${swept.manifests} manifests, ${swept.layerLinks} layer links, ${swept.blobs} blobs (${freed}), ${count(result.housekeeping.uploadsPurged.length, 'upload')}, ${count(result.housekeeping.repositoriesRemoved.length, 'empty repository', 'empty repositories')}. Every kept tag still pulls; fix the cause and rerun the same command to finish.`,
      ),
    );
  }
  // An emptied repository's layer links went too: the cache may still list them.
  if (!result.dryRun && result.blobsDeletedCount + manifests + tagsRemoved + result.housekeeping.repositoriesRemoved.length > 0) {
    lines.push('');
    lines.push(paint.warn(`Restart the registry now: its blob descriptor cache still lists the blobs ${result.trash ? 'moved out' : 'deleted'}.`));
  }
  return lines.join('\n') + '\n';
}

/** Tags that do not pull, as repository:tag (gc/dangling-tags.ts). */
function danglingTagsOf(result: GcResult): string[] {
  return result.repositories.flatMap((o) => (o.danglingTags ?? []).map((tag) => `${o.name}:${tag}`));
}

/** The reference's own summary line (`registry garbage-collect`), with the verb of this run. */
function summaryLine(result: GcResult, verb: string): string {
  return `${result.blobsMarked} blobs marked, ${result.blobsDeletedCount} blobs and ${sum(result, (o) => o.manifestsDeleted.length)} manifests ${verb}`;
}

/**
 * The line the `garbage-collect` drop-in prints on stdout, in the shape
 * Distribution prints it (2.8 and v3 alike say "eligible for deletion" in a
 * real run too), for the scripts that grep it.
 */
export function renderReferenceSummary(result: GcResult): string {
  return `${summaryLine(result, 'eligible for deletion')}\n`;
}

/** The --free line: the target, what it freed (or would), what is left for a later run. */
function renderFree(free: FreeReport, dryRun: boolean, paint: Paint): string {
  const target = `--free ${formatBytes(free.target)}`;
  const freed = dryRun ? 'would be freed' : 'freed';
  if (!free.reachable) {
    return paint.alarm(
      `${target}: NOT reachable: the whole plan frees ${formatBytes(free.freed)}${dryRun ? ', which a real run frees' : ', all of it ' + freed} (exit 4)`,
    );
  }
  const status = free.reached ? 'reached' : 'NOT reached (blobs needed by a push during the sweep were put back)';
  const line = `${target}: ${status}: ${formatBytes(free.freed)} ${freed} (the ${free.blobsChosen === 1 ? 'largest blob' : `${free.blobsChosen} largest blobs`}); ${formatBytes(free.leftReclaimable)} in ${count(free.blobsLeft, 'blob')} left reclaimable for a later run`;
  return free.reached ? paint.strong(line) : paint.alarm(line);
}

interface Listed {
  digest: Digest;
  /** the data size freed with it; undefined: its blob stays or is missing. */
  size: number | undefined;
  note: string;
}

/**
 * A dry run's listing of what it would delete, largest first: the blobs;
 * per repository, the manifests (sized by their own blob) and the layer
 * links (sized by the blob they link). `limit` entries per group, then a
 * line for the rest; every group ends with its count and bytes.
 */
function renderListing(result: GcResult, sizes: ReadonlyMap<Digest, number>, limit: number): string[] {
  const lines: string[] = [];
  const blobs: Listed[] = [];
  result.forEachBlobDeleted((digest) => void blobs.push({ digest, size: sizes.get(digest) ?? 0, note: '' }));
  const going = new Set(blobs.map((b) => b.digest));
  const deleted = (digest: Digest, stays: string): Listed =>
    going.has(digest) ? { digest, size: sizes.get(digest) ?? 0, note: '' } : { digest, size: undefined, note: stays };
  const group = (title: string, items: Listed[]): void => {
    if (items.length === 0) return;
    items.sort((a, b) => (b.size ?? -1) - (a.size ?? -1) || (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
    const bytes = items.reduce((total, item) => total + (item.size ?? 0), 0);
    lines.push('', `${title}: ${items.length}, ${formatBytes(bytes)}`);
    const width = 10;
    for (const item of items.slice(0, limit))
      lines.push(`  ${pad(item.size === undefined ? '-' : formatBytes(item.size), width, true)}  ${item.digest}${item.note}`);
    if (items.length > limit) {
      const rest = items.slice(limit);
      lines.push(`  ... and ${rest.length} more (${formatBytes(rest.reduce((total, item) => total + (item.size ?? 0), 0))}; --list all shows them)`);
    }
  };
  lines.push('', 'would delete, largest first:');
  group('blobs', blobs);
  for (const o of result.repositories) {
    group(
      `manifests in ${o.name}`,
      [...o.manifestsDeleted].map((digest) => deleted(digest, '  (its blob stays: another manifest uses it)')),
    );
    group(
      `layer links in ${o.name}`,
      [...o.layerLinksDeleted].map((digest) => deleted(digest, '  (its blob stays or is already gone)')),
    );
  }
  return lines;
}

/** Buffers small writes into ~64 KiB chunks. */
function chunked(write: (text: string) => void): { put(text: string): void; flush(): void } {
  let buffer = '';
  return {
    put(text) {
      buffer += text;
      if (buffer.length >= 65536) {
        write(buffer);
        buffer = '';
      }
    },
    flush() {
      if (buffer) write(buffer);
      buffer = '';
    },
  };
}

/**
 * Writes exactly one JSON object, streamed: a dry run on a 1M-blob tree can
 * list ~1M digests, and one string of them all (~130 MB) is not needed.
 */
export function writeGcJson(result: GcResult, write: (text: string) => void, stamp: RunStamp): void {
  const out = chunked(write);
  const field = (name: string, value: unknown): void => out.put(`${JSON.stringify(name)}:${JSON.stringify(value)},`);
  const swept = result.swept;
  // A sweep stopped part-way lists only what it deleted: the first N of
  // each list, in the order the sweep goes (commands/gc/plan-sweep.ts targetsOf).
  const limit = (count: number | undefined): number => (result.sweepError && count !== undefined ? count : Infinity);
  const error = result.sweepError;
  out.put('{');
  field('ok', error === undefined);
  field('error', error ? { code: error.code, message: error.message, path: error.path ?? null } : null);
  for (const [name, value] of Object.entries(stamp)) field(name, value);
  field('dryRun', result.dryRun);
  field('deleteUntagged', result.deleteUntagged);
  field('root', result.root);
  field('v2', result.v2 ?? null);
  field('blobsMarked', result.blobsMarked);
  const list = (name: string, emit: (each: (item: unknown) => void) => void, max = Infinity): void => {
    out.put(`${JSON.stringify(name)}:[`);
    let count = 0;
    emit((item) => {
      if (count >= max) return;
      out.put(`${count === 0 ? '' : ','}${JSON.stringify(item)}`);
      count++;
    });
    out.put('],');
  };
  list('blobsDeleted', (each) => result.forEachBlobDeleted(each), limit(swept?.blobs));
  list(
    'manifestsDeleted',
    (each) => {
      for (const o of result.repositories) for (const digest of o.manifestsDeleted) each({ repository: o.name, digest });
    },
    limit(swept?.manifests),
  );
  list(
    'layerLinksDeleted',
    (each) => {
      for (const o of result.repositories) for (const digest of o.layerLinksDeleted) each({ repository: o.name, digest });
    },
    limit(swept?.layerLinks),
  );
  list(
    'tagsRemoved',
    (each) => {
      for (const o of result.repositories) for (const d of o.tagsRemoved) each(decisionJson(d));
    },
    limit(swept?.tags),
  );
  list('tagsKept', (each) => {
    for (const o of result.repositories) for (const d of o.tagsKept) each(decisionJson(d));
  });
  field(
    'tagIndexEntriesDeleted',
    error && swept ? swept.tagIndexEntries : sum(result, (o) => [...o.tagIndexEntries.values()].reduce((n, l) => n + l.length, 0)),
  );
  field('emptyRevisionDirectoriesDeleted', error && swept ? swept.linklessRevisions : sum(result, (o) => o.linklessRevisions.length));
  field('temporaryFilesDeleted', result.temporaryFiles);
  field('bytesFreed', error && swept ? swept.bytes : result.bytesFreed);
  field('keptByGrace', result.keptByGrace);
  field('keptByGraceBytes', result.keptByGraceBytes);
  field('revalidations', result.revalidations);
  field('prefetched', result.prefetched);
  if (result.free) {
    const freed = error && swept ? swept.bytes : result.free.freed;
    field('free', { ...result.free, freed, reached: freed >= result.free.target });
  }
  for (const [name, value] of Object.entries(housekeepingJson(result.housekeeping))) field(name, value);
  field('registry', result.registry ?? null);
  field(
    'danglingTags',
    result.repositories.flatMap((o) => (o.danglingTags ?? []).map((tag) => ({ repository: o.name, tag }))),
  );
  field('skipped', result.skipped);
  if (result.planWritten) field('plan', result.planWritten);
  if (result.applied) field('apply', result.applied);
  if (result.trash) field('trash', result.trash);
  field(
    'repositories',
    result.repositories.map((o) => ({
      name: o.name,
      tags: o.tags,
      revisions: o.revisions,
      tagsRemoved: o.tagsRemoved.length,
      manifestsDeleted: o.manifestsDeleted.length,
      layerLinksDeleted: o.layerLinksDeleted.length,
    })),
  );
  field('warnings', result.warnings);
  out.put(`"phasesMs":${JSON.stringify(Object.fromEntries(result.phases.map((p) => [p.name, Math.round(p.ms)])))}}\n`);
  out.flush();
}
