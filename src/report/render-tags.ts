// Rendering for `tags rm` and `ls` (gc and prune: report.ts).
import type { LsResult } from '../commands/ls/index.js';
import { formatBytes } from './format-bytes.js';
import { type Paint, plain, renderWarnings } from './paint.js';
import type { TagDecision } from '../select/select-tags.js';
import type { TagsRmResult } from '../commands/tags-rm/index.js';

export function renderDecisions(repos: { name: string; tagsRemoved: TagDecision[]; tagsKept: TagDecision[] }[], dryRun: boolean): string[] {
  const lines: string[] = [];
  const decided = repos.filter((r) => r.tagsRemoved.length + r.tagsKept.length > 0);
  if (decided.length === 0) return lines;
  lines.push(`tags ${dryRun ? 'that would be removed' : 'removed'} (-) and candidates kept (=):`);
  for (const repo of decided) {
    lines.push(`  ${repo.name}`);
    for (const d of [...repo.tagsRemoved, ...repo.tagsKept].sort((a, b) => (a.tag < b.tag ? -1 : 1))) {
      lines.push(`    ${d.remove ? '-' : '='} ${d.tag.padEnd(24)} ${d.reason}`);
    }
  }
  return lines;
}

/** A push time for JSON: ISO 8601, or null when the tag has none. */
function pushedJson(ms: number): string | null {
  return ms ? new Date(ms).toISOString() : null;
}

export function decisionJson(d: TagDecision): object {
  return { repository: d.repository, tag: d.tag, digest: d.digest ?? null, pushed: pushedJson(d.pushedMs), reason: d.reason };
}

export function renderTagsRmHuman(result: TagsRmResult, paint: Paint = plain): string {
  const lines = [`registry-janitor tags rm (${result.dryRun ? 'dry run' : 'real run'}) on ${result.v2 ?? result.root}`, ''];
  lines.push(...renderDecisions(result.repositories, result.dryRun));
  const removed = result.repositories.reduce((n, r) => n + r.tagsRemoved.length, 0);
  lines.push('', paint.strong(`${removed} tags ${result.dryRun ? 'would be removed' : 'removed'}`) + '; run `registry-janitor gc -m` to reclaim their space');
  lines.push(...renderWarnings(result.warnings, paint));
  if (result.sweepError) lines.push('', paint.alarm(`STOPPED PART-WAY: ${result.removed} of ${removed} tags were removed; fix the cause and rerun the same command to finish.`));
  return lines.join('\n') + '\n';
}

export function renderTagsRmJson(result: TagsRmResult): string {
  const error = result.sweepError;
  const removed = result.repositories.flatMap((r) => r.tagsRemoved.map(decisionJson));
  return (
    JSON.stringify({
      ok: error === undefined,
      error: error ? { code: error.code, message: error.message, path: error.path ?? null } : null,
      dryRun: result.dryRun,
      root: result.root,
      v2: result.v2 ?? null,
      // stopped part-way: only the tags removed, in the order they went
      tagsRemoved: error ? removed.slice(0, result.removed) : removed,
      tagsKept: result.repositories.flatMap((r) => r.tagsKept.map(decisionJson)),
      warnings: result.warnings,
    }) + '\n'
  );
}

function when(ms: number): string {
  return ms ? new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z') : '-';
}

export function renderLsHuman(result: LsResult, paint: Paint = plain): string {
  const lines: string[] = [];
  for (const repo of result.repositories) {
    lines.push(`${repo.name}  (${repo.tags.length} tags, ${repo.untagged.length} untagged revisions, ${formatBytes(repo.size)})`);
    if (repo.tags.length > 0) {
      lines.push(`  ${'TAG'.padEnd(20)} ${'DIGEST'.padEnd(19)} ${'PUSHED'.padEnd(20)} ${'TYPE'.padEnd(12)} ${'SIZE'.padStart(10)} ${'FREES'.padStart(10)}  PLATFORMS`);
    }
    for (const t of repo.tags) {
      const type = t.mediaType ? t.mediaType.replace(/^application\/vnd\./, '').replace(/\+json$/, '').replace('docker.distribution.manifest.', 'docker.').replace('oci.image.', 'oci.') : '-';
      lines.push(
        `  ${t.tag.padEnd(20)} ${(t.digest ?? '-').slice(0, 19).padEnd(19)} ${when(t.pushedMs).padEnd(20)} ${type.padEnd(12)} ${formatBytes(t.size).padStart(10)} ${formatBytes(t.frees).padStart(10)}  ${t.platforms.join(', ')}`,
      );
    }
    for (const u of repo.untagged) lines.push(`  (untagged)           ${u.digest.slice(0, 19)}`);
    lines.push('');
  }
  const tags = result.repositories.reduce((n, r) => n + r.tags.length, 0);
  lines.push(`${result.repositories.length} repositories, ${tags} tags, ${formatBytes(result.totalSize)} in all`);
  lines.push('SIZE: distinct blobs of the tag (an index: with its children). FREES: what removing that tag alone and sweeping would free.');
  lines.push(...renderWarnings(result.warnings, paint));
  return lines.join('\n') + '\n';
}

export function renderLsJson(result: LsResult): string {
  return (
    JSON.stringify({
      root: result.root,
      v2: result.v2 ?? null,
      totalSize: result.totalSize,
      repositories: result.repositories.map((r) => ({
        name: r.name,
        size: r.size,
        tags: r.tags.map((t) => ({ tag: t.tag, digest: t.digest ?? null, pushed: pushedJson(t.pushedMs), mediaType: t.mediaType ?? null, platforms: t.platforms, size: t.size, frees: t.frees })),
        untagged: r.untagged.map((u) => ({ digest: u.digest, mediaType: u.mediaType ?? null, size: u.size })),
      })),
      warnings: result.warnings,
    }) + '\n'
  );
}
