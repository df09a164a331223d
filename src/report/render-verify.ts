// Rendering for `verify`: findings grouped per repository (what breaks a
// tag first, then what breaks none), referrers with their subject, and the
// count of tags that would pull and that would not.
import type { Finding, VerifyResult } from '../commands/verify/index.js';
import { type RunStamp, count, formatBytes } from './format.js';
import { type Paint, plain } from './paint.js';
import { renderWarnings } from './render-warnings.js';

export function renderVerifyHuman(result: VerifyResult, paint: Paint = plain): string {
  const lines: string[] = [`registry-janitor verify on ${result.v2 ?? result.root}`];
  const byRepository = new Map<string, { breaking: Finding[]; notices: Finding[] }>();
  const groupOf = (name: string): { breaking: Finding[]; notices: Finding[] } => {
    let group = byRepository.get(name);
    if (!group) byRepository.set(name, (group = { breaking: [], notices: [] }));
    return group;
  };
  for (const finding of result.findings) groupOf(finding.repository).breaking.push(finding);
  for (const notice of result.notices) groupOf(notice.repository).notices.push(notice);
  for (const [name, { breaking, notices }] of [...byRepository].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const broken = result.repositories.find((r) => r.name === name)?.broken ?? [];
    lines.push('', paint.strong(`${name}${broken.length > 0 ? `  (${count(broken.length, 'tag')} would not pull: ${broken.join(', ')})` : ''}`));
    for (const f of breaking) lines.push(paint.alarm(`  ${f.kind.padEnd(20)} ${f.message}`), `  ${''.padEnd(20)} ${f.path}  (tags: ${f.tags.join(', ')})`);
    for (const f of notices) lines.push(paint.warn(`  ${f.kind.padEnd(20)} ${f.message}`));
  }
  if (result.referrers.length > 0) {
    lines.push('', `referrers (${result.referrers.length}):`);
    for (const r of result.referrers) lines.push(`  ${r.repository}  ${r.digest} -> subject ${r.subject}`);
  }
  if (result.content) {
    const { blobs, bytes, mismatched } = result.content;
    lines.push(
      '',
      `content: ${count(blobs, 'blob')} re-hashed (${formatBytes(bytes)}), ${mismatched} not matching ${mismatched === 1 ? 'its' : 'their'} digest`,
    );
  }
  lines.push(
    '',
    `${count(result.tagsOk, 'tag')} would pull, ${result.tagsBroken} would not (${count(result.repositories.length, 'repository', 'repositories')}, ${count(result.findings.length, 'finding')}, ${count(result.notices.length, 'notice')})`,
  );
  lines.push(...renderWarnings(result.warnings, paint));
  return lines.join('\n') + '\n';
}

export function renderVerifyJson(result: VerifyResult, stamp: RunStamp): string {
  return (
    JSON.stringify({
      ok: result.tagsBroken === 0,
      ...stamp,
      prefetched: result.prefetched,
      root: result.root,
      v2: result.v2 ?? null,
      tagsOk: result.tagsOk,
      tagsBroken: result.tagsBroken,
      repositories: result.repositories,
      findings: result.findings.map((f) => ({ ...f, digest: f.digest ?? null })),
      notices: result.notices.map((f) => ({ ...f, digest: f.digest ?? null })),
      referrers: result.referrers,
      content: result.content ?? null,
      warnings: result.warnings,
      phases: result.phases,
    }) + '\n'
  );
}
