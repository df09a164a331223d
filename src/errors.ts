// Typed errors: every failure the tool reports carries a code, the file it is
// about (when there is one) and the underlying cause. The CLI prints
// `error: <message>` on one line and never a stack trace.

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
  | 'E_BAD_JOURNAL' // the journal of an interrupted run cannot be read
  | 'E_JOURNAL' // the journal cannot be written (nothing deleted)
  | 'E_LOCK' // the run lock cannot be taken (nothing deleted)
  | 'E_LOCKED' // another run holds the lock (nothing deleted)
  | 'E_LIVE' // a registry answers on the tree's config (nothing deleted)
  | 'E_NOT_FOUND'; // a named tag or repository does not exist

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

/** The errno code of a Node or memfs error, if any. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

export function isENOENT(error: unknown): boolean {
  return errnoCode(error) === 'ENOENT';
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
