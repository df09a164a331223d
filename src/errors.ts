// Typed errors and warnings. Every failure the tool reports carries a code,
// the file it is about (when there is one) and the underlying cause; the CLI
// prints `error: <message>` on one line and never a stack trace. Warnings
// carry a code and, where they have one, the repository and path; the
// renderers (report/) choose how loud each code is.

export type ErrorCode =
  | 'E_USAGE' // bad flags or arguments (exit 2)
  | 'E_CONFIG' // registry config unreadable or not a filesystem driver
  | 'E_NOT_REGISTRY' // --root is not a registry storage tree
  | 'E_UNREADABLE' // a file or directory the mark phase needs cannot be read
  | 'E_BAD_LINK' // a link file is empty or not a digest
  | 'E_LINK_MISMATCH' // a link names another digest than its path
  | 'E_BAD_MANIFEST' // a manifest that must be read is not valid JSON / not a manifest
  | 'E_UNKNOWN_MEDIA_TYPE' // a manifest of a media type the tool does not know
  | 'E_BAD_NAME' // an invalid repository or tag name on disk
  | 'E_SYMLINK' // a symbolic link inside the tree
  | 'E_STRAY' // an unexpected entry where the layout allows none
  | 'E_OUTSIDE_ROOT' // a computed path escapes the root (a bug guard)
  | 'E_MOUNT' // a deletion would cross a filesystem boundary (a mount point inside the tree)
  | 'E_TOO_LARGE' // a file the run must read is larger than any the registry writes
  | 'E_DELETE' // a deletion failed part-way
  | 'E_INTERRUPTED' // SIGINT or SIGTERM stopped the sweep part-way (exit 130 or 143)
  | 'E_BAD_JOURNAL' // the journal of an interrupted run cannot be read
  | 'E_JOURNAL' // the journal cannot be written (nothing deleted)
  | 'E_LOCK' // the run lock cannot be taken (nothing deleted)
  | 'E_LOCKED' // another run holds the lock (nothing deleted)
  | 'E_NO_SPACE' // no space or inode for what the run must write first (the quarantine under --allow-live; nothing deleted)
  | 'E_LIVE' // a registry answers on the tree's config (nothing deleted)
  | 'E_NOT_FOUND' // a named tag or repository does not exist
  | 'E_BAD_PLAN' // a plan file that is not one, truncated or edited (nothing deleted)
  | 'E_PLAN_VERSION' // a plan file of a format version this tool does not read (nothing deleted)
  | 'E_PLAN_ROOT' // a plan file made for another registry root (nothing deleted)
  | 'E_PLAN_WRITE'; // the plan file cannot be written

export class JanitorError extends Error {
  readonly code: ErrorCode;
  readonly path: string | undefined;
  override readonly cause: unknown;

  constructor(code: ErrorCode, message: string, options: { path?: string; cause?: unknown } = {}) {
    super(message);
    this.name = 'JanitorError';
    this.code = code;
    this.path = options.path;
    this.cause = options.cause;
  }

  /** Exit status for the CLI: usage errors are 2, everything else 1. */
  get exitCode(): number {
    return this.code === 'E_USAGE' ? 2 : 1;
  }
}

export type WarningCode =
  | 'W_EMPTY_ROOT' // the root holds no registry data yet: nothing to do
  | 'W_STRAY_FILE' // a stray file where repositories are listed (ignored)
  | 'W_REVISION_WITHOUT_DATA' // a revision whose manifest blob is missing (skipped, as the reference does)
  | 'W_TAG_WITHOUT_CURRENT' // a tag directory without current/link (does not resolve)
  | 'W_DANGLING_TAG' // a tag naming a revision the repository cannot serve (its revision link or manifest blob is missing)
  | 'W_TAG_NEEDS_MISSING' // a tag that does not pull: a child manifest or a blob it needs is missing
  | 'W_LINKLESS_REVISION' // a revision directory without its link (an interrupted removal; removed)
  | 'W_ALL_TAGS_REMOVED' // the selection removes every tag of a repository
  | 'W_RULE_UNMATCHED' // a selection rule matches no repository
  | 'W_REPOSITORY_SKIPPED' // --skip-repo: read nothing, keep everything it links
  | 'W_JOURNAL_PENDING' // another command's interrupted run has not finished
  | 'W_LOCK_TAKEN_OVER' // the lock of a run that is gone was taken over
  | 'W_LOCK_HOST_LOCAL' // no room in the tree for the lock: the host-local lock is held instead
  | 'W_QUARANTINE_NO_SPACE' // no room for the quarantine: deleted directly, in the safe order
  | 'W_CLEANUP_FAILED' // this tool's own files could not be cleaned up
  | 'W_QUARANTINE_LEFT' // an interrupted sweep left things aside (a dry run reports them)
  | 'W_RESTORE_FAILED' // what the sweep moved aside could not be put back
  | 'W_RESTORED' // things moved aside were needed by a push during the sweep and went back
  | 'W_REVALIDATED' // repositories changed while the run read them; read again
  | 'W_TREE_KEPT_CHANGING' // still changing after the last revalidation: kept whole
  | 'W_LIVE_SIGNS' // uploads under way: a registry may be serving this tree
  | 'W_UPLOAD_LEFT' // an upload left for what it holds or how it reads (an unknown entry, a symlink, unreadable): never purged
  | 'W_PLAN_DROPPED' // apply: targets of the plan not deleted (needed since, or within the grace window)
  | 'W_REPOSITORY_LEFT' // a repository with no tag and no revision left whole: something in it is not of the registry's shape
  | 'W_TRASH_LINE'; // a line of a trash manifest that is no valid record (storage/trash-manifest.ts): kept, its item left

export interface Warning {
  readonly code: WarningCode;
  readonly message: string;
  readonly repository?: string;
  readonly path?: string;
}

export type Warn = (warning: Warning) => void;

/**
 * Puts `warnings` from `start` on in the order of their repositories (a
 * warning without one first; a repository's own keep their order): the
 * read side's threads (-j) hand repositories over in whatever order they
 * finish, and a report should not change with the thread count.
 */
export function orderByRepository(warnings: Warning[], start: number): void {
  const key = (warning: Warning): string => warning.repository ?? '';
  const tail = warnings.splice(start).sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  warnings.push(...tail);
}

export function makeWarning(code: WarningCode, message: string, where: { repository?: string; path?: string } = {}): Warning {
  return { code, message, ...where };
}

/** The errno code of a Node or memfs error, if any. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = error.code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** One line describing an unexpected error, for the CLI's last resort. */
export function describeError(error: unknown): string {
  if (error instanceof JanitorError) return error.message;
  if (error instanceof Error) {
    const code = errnoCode(error);
    return code ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
