// Rendering for `ls`: per repository, its tags (digest, push time, media
// type, platforms, size, what removing that tag alone frees) and untagged
// revisions. The human output is a block per repository, written as each is
// accounted (cli/read-commands.ts), then a footer; --json is one document.
import type { LsRepo, LsResult } from '../commands/ls/index.js';
import { type RunStamp, count, formatBytes, pushedJson } from './format.js';
import { type Paint, plain } from './paint.js';
import { renderWarnings } from './render-warnings.js';

function when(ms: number): string {
  return ms ? new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z') : '-';
}

/** One repository's block: its heading, tag table and untagged revisions, then a blank line. */
export function renderLsRepositoryHuman(repo: LsRepo): string {
  const lines: string[] = [];
  lines.push(`${repo.name}  (${count(repo.tags.length, 'tag')}, ${count(repo.untagged.length, 'untagged revision')}, ${formatBytes(repo.size)})`);
  if (repo.tags.length > 0) {
    lines.push(
      `  ${'TAG'.padEnd(20)} ${'DIGEST'.padEnd(19)} ${'PUSHED'.padEnd(20)} ${'TYPE'.padEnd(12)} ${'SIZE'.padStart(10)} ${'FREES'.padStart(10)}  PLATFORMS`,
    );
  }
  for (const t of repo.tags) {
    const type = t.mediaType
      ? t.mediaType
          .replace(/^application\/vnd\./, '')
          .replace(/\+json$/, '')
          .replace('docker.distribution.manifest.', 'docker.')
          .replace('oci.image.', 'oci.')
      : '-';
    lines.push(
      `  ${t.tag.padEnd(20)} ${(t.digest ?? '-').slice(0, 19).padEnd(19)} ${when(t.pushedMs).padEnd(20)} ${type.padEnd(12)} ${formatBytes(t.size).padStart(10)} ${formatBytes(t.frees).padStart(10)}  ${t.platforms.join(', ')}`,
    );
  }
  for (const u of repo.untagged) lines.push(`  (untagged)           ${u.digest.slice(0, 19)}`);
  lines.push('');
  return lines.join('\n') + '\n';
}

/** What follows the repositories' blocks: the totals, the legend, the warnings. */
export function renderLsFooterHuman(result: LsResult, paint: Paint = plain): string {
  const lines = [
    `${count(result.repositoryCount, 'repository', 'repositories')}, ${count(result.tagCount, 'tag')}, ${formatBytes(result.totalSize)} in all`,
    'SIZE: distinct blobs of the tag (an index: with its children). FREES: what removing that tag alone and sweeping would free.',
    ...renderWarnings(result.warnings, paint),
  ];
  return lines.join('\n') + '\n';
}

export function renderLsJson(result: LsResult, stamp: RunStamp): string {
  return (
    JSON.stringify({
      ...stamp,
      prefetched: result.prefetched,
      root: result.root,
      v2: result.v2 ?? null,
      totalSize: result.totalSize,
      repositories: result.repositories.map((r) => ({
        name: r.name,
        size: r.size,
        tags: r.tags.map((t) => ({
          tag: t.tag,
          digest: t.digest ?? null,
          pushed: pushedJson(t.pushedMs),
          mediaType: t.mediaType ?? null,
          platforms: t.platforms,
          size: t.size,
          frees: t.frees,
        })),
        untagged: r.untagged.map((u) => ({ digest: u.digest, mediaType: u.mediaType ?? null, size: u.size })),
      })),
      warnings: result.warnings,
    }) + '\n'
  );
}
