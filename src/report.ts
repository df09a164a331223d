// Rendering results: a human summary (with the reference's own counts line)
// or exactly one JSON object. Pure functions of the result: the CLI writes.

import type { GcResult } from './gc/run-gc.js';

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function pad(text: string | number, width: number, right = false): string {
  const s = String(text);
  return right ? s.padStart(width) : s.padEnd(width);
}

export function renderGcHuman(result: GcResult): string {
  const lines: string[] = [];
  const verb = result.dryRun ? 'eligible for deletion' : 'deleted';
  const mode = `${result.dryRun ? 'dry run' : 'real run'}${result.deleteUntagged ? ', deleting untagged manifests (-m)' : ''}`;
  lines.push(`registry-janitor gc (${mode}) on ${result.v2 ?? result.root}`);
  if (result.repositories.length > 0) {
    const width = Math.max(10, ...result.repositories.map((r) => r.name.length));
    lines.push('');
    lines.push(`  ${pad('repository', width)}  ${pad('tags', 5, true)}  ${pad('revisions', 9, true)}  ${pad('manifests', 9, true)}  ${pad('layer links', 11, true)}`);
    for (const repo of result.repositories) {
      lines.push(
        `  ${pad(repo.name, width)}  ${pad(repo.tags, 5, true)}  ${pad(repo.revisions, 9, true)}  ${pad(repo.manifestsDeleted, 9, true)}  ${pad(repo.layerLinksDeleted, 11, true)}`,
      );
    }
    lines.push(`  (manifests and layer links: ${verb})`);
  }
  lines.push('');
  lines.push(
    `${result.blobsMarked} blobs marked, ${result.blobsDeleted.length} blobs and ${result.manifestsDeleted.length} manifests ${verb}`,
  );
  lines.push(`${result.layerLinksDeleted.length} layer links ${verb}`);
  lines.push(`${formatBytes(result.bytesFreed)} ${result.dryRun ? 'would be freed' : 'freed'}`);
  if (result.warnings.length > 0) {
    lines.push('');
    lines.push(`warnings (${result.warnings.length}):`);
    for (const warning of result.warnings) lines.push(`  ${warning}`);
  }
  if (!result.dryRun && result.blobsDeleted.length + result.manifestsDeleted.length > 0) {
    lines.push('');
    lines.push('Restart the registry now: its blob descriptor cache still lists the deleted blobs.');
  }
  return lines.join('\n') + '\n';
}

export function renderGcJson(result: GcResult): string {
  const phases = Object.fromEntries(result.phases.map((p) => [p.name, Math.round(p.ms)]));
  return (
    JSON.stringify({
      dryRun: result.dryRun,
      deleteUntagged: result.deleteUntagged,
      root: result.root,
      v2: result.v2 ?? null,
      blobsMarked: result.blobsMarked,
      blobsDeleted: result.blobsDeleted,
      manifestsDeleted: result.manifestsDeleted,
      layerLinksDeleted: result.layerLinksDeleted,
      tagIndexEntriesDeleted: result.tagIndexEntriesDeleted,
      bytesFreed: result.bytesFreed,
      repositories: result.repositories,
      warnings: result.warnings,
      phasesMs: phases,
    }) + '\n'
  );
}
