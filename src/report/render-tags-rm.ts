// Rendering for `tags rm`, and the tag decisions that `prune` shows too
// (gc and prune: render-gc.ts; ls: render-ls.ts).
import { type RunStamp, count, pushedJson } from './format.js';
import { type Paint, plain } from './paint.js';
import { renderWarnings } from './render-warnings.js';
import type { TagDecision } from '../select/select-tags.js';
import type { TagsRmResult } from '../commands/tags-rm/index.js';

export function renderDecisions(
  repos: readonly { name: string; tagsRemoved: readonly TagDecision[]; tagsKept: readonly TagDecision[] }[],
  dryRun: boolean,
): string[] {
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

export function decisionJson(d: TagDecision): object {
  return { repository: d.repository, tag: d.tag, digest: d.digest ?? null, pushed: pushedJson(d.pushedMs), reason: d.reason };
}

export function renderTagsRmHuman(result: TagsRmResult, paint: Paint = plain): string {
  const lines = [`registry-janitor tags rm (${result.dryRun ? 'dry run' : 'real run'}) on ${result.v2 ?? result.root}`, ''];
  lines.push(...renderDecisions(result.repositories, result.dryRun));
  const removed = result.repositories.reduce((n, r) => n + r.tagsRemoved.length, 0);
  const trash = result.trash;
  const verb = result.dryRun ? 'would be removed' : trash ? `moved to the trash ${trash.dir}` : 'removed';
  const after = trash && !result.dryRun ? ` (\`registry-janitor trash restore ${trash.dir}\` puts them back)` : '';
  lines.push('', paint.strong(`${count(removed, 'tag')} ${verb}`) + `${after}; run \`registry-janitor gc -m\` to reclaim their space`);
  lines.push(...renderWarnings(result.warnings, paint));
  if (result.sweepError)
    lines.push(
      '',
      paint.alarm(
        `STOPPED PART-WAY: ${result.removed} of ${count(removed, 'tag')} ${result.removed === 1 ? 'was' : 'were'} removed; fix the cause and rerun the same command to finish.`,
      ),
    );
  return lines.join('\n') + '\n';
}

export function renderTagsRmJson(result: TagsRmResult, stamp: RunStamp): string {
  const error = result.sweepError;
  const removed = result.repositories.flatMap((r) => r.tagsRemoved.map(decisionJson));
  return (
    JSON.stringify({
      ok: error === undefined,
      error: error ? { code: error.code, message: error.message, path: error.path ?? null } : null,
      ...stamp,
      dryRun: result.dryRun,
      root: result.root,
      v2: result.v2 ?? null,
      // stopped part-way: only the tags removed, in the order they went
      tagsRemoved: error ? removed.slice(0, result.removed) : removed,
      tagsKept: result.repositories.flatMap((r) => r.tagsKept.map(decisionJson)),
      warnings: result.warnings,
      ...(result.planWritten ? { plan: result.planWritten } : {}),
      ...(result.applied ? { apply: result.applied } : {}),
      ...(result.trash ? { trash: result.trash } : {}),
    }) + '\n'
  );
}
