// One repository as the scan reads it: plain data (structured-clone safe,
// so it crosses from a scan worker unchanged). scan/scan-repository.ts
// fills it; the keep rule (reachability.ts) and the commands read it.

import type { Warning } from '../errors.js';
import type { Algorithm, Digest } from './digest.js';
import type { ManifestRefs } from './manifest.js';

export interface Revision {
  digest: Digest;
  /** undefined when the revision's blob data is missing (skipped, as the reference does). */
  manifest: ManifestRefs | undefined;
  /** size of the manifest blob in bytes (0 when missing). */
  size: number;
  /** its link was written within the grace window (a push under way or just done). */
  fresh?: boolean;
}

export interface TagEntry {
  tag: string;
  /** what current/link names; undefined for a tag directory without one. */
  current: Digest | undefined;
  /** mtime of current/link: the tag's last push. */
  pushedMs: number;
  /** digests under tags/<tag>/index/: every digest the tag has pointed at. */
  index: Digest[];
}

export interface LayerDirectory {
  algorithm: Algorithm;
  fresh: boolean;
}

export interface RepoScan {
  name: string;
  revisions: Revision[];
  /** revision directories without their link: what an interrupted removal leaves (removed by the sweep). */
  linklessRevisions: Digest[];
  /** the mtimes of the directories and links the decision rests on, taken before reading them (watchRepository). */
  watch: string;
  /**
   * The repository's `_layers/<alg>` directories as the scan stamped them,
   * and whether each changed within the grace window: the plan lists only
   * these, and looks for fresh layer links only in the changed ones.
   */
  layers: LayerDirectory[];
  tags: TagEntry[];
  warnings: Warning[];
}
