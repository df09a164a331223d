// Rendering for plan files: the line a --plan run adds, `plan show`, and
// what `apply` read again and dropped (gc's own report: render-gc.ts).

import type { ApplyReport } from '../commands/gc/apply-plan.js';
import type { PlanWritten } from '../commands/plan-file.js';
import type { PlanSummary } from '../commands/plan-show/index.js';
import { type RunStamp, count, formatBytes } from './format.js';
import { type Paint, plain } from './paint.js';

/** What a --plan run wrote. */
export function renderPlanWritten(written: PlanWritten): string {
  const t = written.totals;
  return `\nplan written to ${written.file}: ${count(t.tags, 'tag')}, ${count(t.manifests, 'manifest')}, ${count(t.layerLinks, 'layer link')}, ${count(t.blobs, 'blob')} (${formatBytes(t.bytes)}); review it with \`registry-janitor plan show ${written.file}\`, apply it with \`registry-janitor apply ${written.file}\`\n`;
}

const SHOWN_DROPPED = 20;

/** apply: the plan, what was read again, what was dropped and why. */
export function renderApplied(applied: ApplyReport, paint: Paint = plain): string {
  const lines = [
    '',
    `applied the plan ${applied.file} (${applied.command}, made ${applied.planCreatedAt}): ${count(applied.repositoriesReread, 'repository', 'repositories')} read again (changed or new since the plan)`,
  ];
  if (applied.reread.length > 0) lines.push(`  read again: ${applied.reread.slice(0, 10).join(', ')}${applied.reread.length > 10 ? ', ...' : ''}`);
  if (applied.droppedCounts.length > 0) {
    lines.push(paint.strong('targets of the plan not deleted:'));
    for (const c of applied.droppedCounts) lines.push(`  ${String(c.count).padStart(8)} ${c.kind.padEnd(17)} ${REASONS[c.reason]}`);
    for (const d of applied.dropped.slice(0, SHOWN_DROPPED))
      lines.push(`  = ${d.kind} ${[d.repository, d.tag, d.digest].filter((x) => x !== null).join(' ')}: ${REASONS[d.reason]}`);
    if (applied.dropped.length > SHOWN_DROPPED) lines.push(`  ... and ${applied.dropped.length - SHOWN_DROPPED} more (--json lists them all)`);
  }
  return `${lines.join('\n')}\n`;
}

const REASONS: Record<ApplyReport['dropped'][number]['reason'], string> = {
  gone: 'already gone (an earlier apply, or a client, deleted it)',
  needed: 'needed now: a repository changed since the plan references it',
  grace: 'written within the grace window',
  repushed: 'the tag was pushed again since the plan',
};

export function renderPlanShowHuman(summary: PlanSummary, paint: Paint = plain): string {
  const { header } = summary;
  const t = header.totals;
  const lines = [
    `plan ${summary.file}: ${header.command} on ${header.v2}, made ${header.createdAt} by registry-janitor ${header.toolVersion}`,
    `  command: ${header.commandLine}`,
    `  ${count(t.tags, 'tag')}, ${count(t.tagIndexEntries, 'tag index entry', 'tag index entries')}, ${count(t.manifests, 'manifest')}, ${count(t.layerLinks, 'layer link')}, ${count(t.blobs, 'blob')}: ${formatBytes(t.bytes)}; ${count(summary.repositories, 'repository', 'repositories')} fingerprinted`,
    '',
    paint.strong('by repository and kind:'),
  ];
  const width = Math.max(10, ...summary.groups.map((g) => (g.repository ?? '(blobs)').length));
  for (const g of summary.groups)
    lines.push(`  ${(g.repository ?? '(blobs)').padEnd(width)}  ${g.kind.padEnd(17)} ${String(g.count).padStart(8)}  ${formatBytes(g.bytes).padStart(10)}`);
  if (summary.largest.length > 0) {
    lines.push('', paint.strong(`largest targets (${summary.largest.length}):`));
    for (const target of summary.largest)
      lines.push(`  ${formatBytes(target.size).padStart(10)}  ${target.kind.padEnd(17)} ${target.path}  (${target.reason})`);
  }
  return `${lines.join('\n')}\n`;
}

export function renderPlanShowJson(summary: PlanSummary, stamp: RunStamp): string {
  return `${JSON.stringify({
    ok: true,
    error: null,
    ...stamp,
    file: summary.file,
    header: summary.header,
    groups: summary.groups,
    largest: summary.largest,
    repositories: summary.repositories,
    phasesMs: Object.fromEntries(summary.phases.map((p) => [p.name, Math.round(p.ms)])),
  })}\n`;
}
