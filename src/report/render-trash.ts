// Rendering for `trash restore` and `trash empty` (commands/trash).
import type { TrashResult } from '../commands/trash/index.js';
import { type RunStamp, count, formatBytes } from './format.js';
import { type Paint, plain } from './paint.js';
import { renderWarnings } from './render-warnings.js';

/** Whether everything the run was to do was done: nothing refused, no item left unnamed. */
export function trashRunComplete(result: TrashResult): boolean {
  return result.refused.length === 0 && result.unnamed.length === 0;
}

export function renderTrashHuman(result: TrashResult, paint: Paint = plain): string {
  const restore = result.action === 'restore';
  const lines = [`registry-janitor trash ${result.action} ${result.dir} (the trash of ${result.v2})`, ''];
  lines.push(
    paint.strong(restore ? `${count(result.done, 'item')} restored` : `${count(result.done, 'item')} deleted for good, ${formatBytes(result.bytes)} freed`),
  );
  if (!restore && result.kept > 0) lines.push(`${count(result.kept, 'item')} younger than --older-than kept`);
  if (result.absent > 0) lines.push(`${count(result.absent, 'record')} named nothing in the trash (restored or emptied before, or never moved in)`);
  if (result.refused.length > 0) {
    lines.push('', paint.alarm(`${count(result.refused.length, 'item')} refused, left in the trash:`));
    for (const { path, reason } of result.refused) lines.push(`  ${path}: ${reason}`);
  }
  if (result.unnamed.length > 0) {
    lines.push('', paint.alarm(`${count(result.unnamed.length, 'item')} in the trash named by no valid manifest record, left there:`));
    for (const name of result.unnamed) lines.push(`  ${result.dir}/${name}`);
  }
  lines.push(...renderWarnings(result.warnings, paint));
  return lines.join('\n') + '\n';
}

export function renderTrashJson(result: TrashResult, stamp: RunStamp): string {
  return (
    JSON.stringify({
      ok: trashRunComplete(result),
      ...stamp,
      action: result.action,
      trash: result.dir,
      v2: result.v2,
      [result.action === 'restore' ? 'restored' : 'deleted']: result.done,
      bytesFreed: result.bytes,
      absent: result.absent,
      kept: result.kept,
      refused: result.refused,
      unnamed: result.unnamed,
      warnings: result.warnings,
      phases: result.phases,
    }) + '\n'
  );
}
