// When an unfinished upload may be purged (gc --purge-uploads AGE): the rule
// alone, no I/O. The registry writes `startedat` once, when the upload
// begins, as Go's time.Now().UTC().Format(time.RFC3339)
// ("2026-12-02T16:26:11Z"), and its own purger (storage.maintenance
// .uploadpurging, purgeuploads.go) removes an upload whose startedat is
// older than its age. Where startedat is missing or does not parse as
// RFC 3339, the newest mtime of its files stands in for it (the reference
// keeps such an upload forever). Whatever its start, an upload with a file
// written within the grace window is under way: it stays. (Files only: the
// registry writes files, and a purge killed part-way bumps the mtimes of
// the directories it emptied.)
//
// An upload directory with no file in it holds no byte and cannot be
// resumed (2.8.2 answers BLOB_UPLOAD_UNKNOWN without startedat). It is
// what a run killed between its last two steps leaves (startedat is
// unlinked last, then the directory goes), and what the registry has for
// the microseconds between making it and writing startedat: so it goes
// whatever its age unless it was written during this run, and a rerun
// finishes the killed run's purge.

/** RFC 3339 as Go's time.Parse(time.RFC3339, ...) accepts it: fractional seconds allowed, 'T' and 'Z' in capitals. */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/** The instant (ms since the epoch) a startedat file names; undefined when it is not RFC 3339 (as Go refuses it). */
export function parseStartedAt(text: string): number | undefined {
  const match = RFC3339.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const fraction = match[7] ?? '';
  const [sign, offsetHours, offsetMinutes] = [match[8], Number(match[9] ?? 0), Number(match[10] ?? 0)];
  // Go's ranges: hour < 24, minute and second < 60 (no leap second), the day within its month, the offset < 24:00.
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) return undefined;
  if (day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return undefined;
  const utc = Date.UTC(year, month - 1, day, hour, minute, second) + Math.floor(Number(`0.${fraction || '0'}`) * 1000);
  // Date.UTC maps years 0-99 to 1900-1999; Go does not.
  const shifted = year < 100 ? new Date(utc).setUTCFullYear(year) : utc;
  const offsetMs = (offsetHours * 60 + offsetMinutes) * 60_000;
  return sign === '-' ? shifted + offsetMs : shifted - offsetMs;
}

export interface UploadAge {
  /** what startedat names; undefined when it is missing or unreadable. */
  startedAtMs: number | undefined;
  /** the newest mtime of the upload's files (none: of its directory). */
  newestMs: number;
  /** no file in the upload's directory. */
  empty?: boolean;
}

export interface UploadRule {
  /** --purge-uploads AGE in ms; undefined: off. */
  olderThanMs: number | undefined;
  /** the run's start: the instant AGE counts back from; an empty upload written since is kept. */
  nowMs: number;
  /** the grace window's start (+Infinity: no window). */
  freshAfterMs: number;
}

/** purge; or why not: purging is off, it began within AGE, it was written within the grace window. */
export type UploadVerdict = 'purge' | 'off' | 'young' | 'fresh';

export function judgeUpload(age: UploadAge, rule: UploadRule): UploadVerdict {
  if (rule.olderThanMs === undefined) return 'off';
  if (age.empty) return age.newestMs > rule.nowMs ? 'fresh' : 'purge';
  if (age.newestMs > rule.freshAfterMs) return 'fresh';
  const began = age.startedAtMs ?? age.newestMs;
  return began < rule.nowMs - rule.olderThanMs ? 'purge' : 'young';
}
