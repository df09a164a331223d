// gc's housekeeping in the report: the uploads line (always: purged or left,
// and their bytes), the repositories removed and kept, as text and as JSON.

import type { HousekeepingReport } from '../commands/gc/gc-types.js';
import { count, formatBytes } from './format.js';
import type { Paint } from './paint.js';

/** --purge-uploads AGE as a flag would say it: whole hours (168h), else minutes, else seconds. */
export function formatAge(ms: number | undefined): string {
  if (ms === undefined) return 'off';
  if (ms === 0) return '0s';
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : `${Math.round(ms / 1000)}s`;
}

const REASONS: Record<HousekeepingReport['repositoriesKept'][number]['reason'], string> = {
  'upload-left': 'an upload in it stays',
  'fresh-layer-link': 'a layer link in it was written within the grace window or during the run',
  'unexpected-content': 'something in it is not of the registry (see the warnings)',
  'written-since': 'written to during the run',
};

/** `trash`: --trash DIR, where a real run moves the purged uploads (an emptied repository's directories, empty, are removed all the same). */
export function renderHousekeeping(h: HousekeepingReport, dryRun: boolean, paint: Paint, trash = false): string[] {
  const lines: string[] = [];
  const purged = h.uploadsPurged.reduce((sum, u) => sum + u.bytes, 0);
  const verb = dryRun ? 'would be purged' : trash ? 'moved to the trash' : 'purged';
  lines.push(
    `${count(h.uploadsPurged.length, 'unfinished upload')} ${verb} (${formatBytes(purged)}), ${h.uploadsLeft.count} left (${formatBytes(h.uploadsLeft.bytes)}) (--purge-uploads ${formatAge(h.purgeUploadsMs)})`,
  );
  if (!h.removeEmptyRepos) return lines;
  const removed = h.repositoriesRemoved;
  const links = removed.reduce((sum, r) => sum + r.layerLinks, 0);
  const names = removed.map((r) => r.name);
  lines.push(
    `${count(removed.length, 'empty repository', 'empty repositories')} ${dryRun ? 'would be removed' : 'removed'}${names.length > 0 ? `: ${names.slice(0, 10).join(', ')}${names.length > 10 ? ', ...' : ''}` : ''}${links > 0 ? ` (with the ${count(links, 'layer link')} left in them)` : ''}`,
  );
  for (const { name, reason } of h.repositoriesKept) lines.push(paint.warn(`kept ${name} (no tag and no revision left): ${REASONS[reason]}`));
  return lines;
}

/** The JSON fields. */
export function housekeepingJson(h: HousekeepingReport): Record<string, unknown> {
  return {
    uploads: {
      purgeUploadsAfter: h.purgeUploadsMs === undefined ? null : formatAge(h.purgeUploadsMs),
      purged: h.uploadsPurged.map((u) => ({
        repository: u.repository,
        id: u.id,
        bytes: u.bytes,
        startedAt: u.startedAtMs === undefined ? null : new Date(u.startedAtMs).toISOString(),
        newestMtime: new Date(u.newestMs).toISOString(),
      })),
      purgedCount: h.uploadsPurged.length,
      purgedBytes: h.uploadsPurged.reduce((sum, u) => sum + u.bytes, 0),
      leftCount: h.uploadsLeft.count,
      leftBytes: h.uploadsLeft.bytes,
    },
    emptyRepositories: { enabled: h.removeEmptyRepos, removed: h.repositoriesRemoved, kept: h.repositoriesKept },
  };
}
