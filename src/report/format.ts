// Formatting of values for the reports: human-readable sizes (1024-based)
// and push times for JSON.
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

/** `1 tag`, `2 tags`: a count and its noun (the plural given where -s is wrong). */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}

/** What every JSON report starts with: the tool's version and when the run started and finished (ISO 8601). */
export interface RunStamp {
  version: string;
  startedAt: string;
  finishedAt: string;
}

/** A push time for JSON: ISO 8601, or null when the tag has none. */
export function pushedJson(ms: number): string | null {
  return ms ? new Date(ms).toISOString() : null;
}
