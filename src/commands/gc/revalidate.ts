// gc's step 4, revalidate (a real run only): every repository written to
// since it was read is read, marked and planned again, until a round finds
// none changed. A tree still changing after MAX_REVALIDATIONS rounds is
// being written to steadily: what changed in the last round is kept whole
// (nothing in it deleted, everything it links marked) rather than chased.

import { type Warn, type Warning, makeWarning, orderByRepository } from '../../errors.js';
import type { BlobIndex } from '../../model/blob-index.js';
import { DigestList } from '../../model/digest-list.js';
import type { RepoScan } from '../../model/repository.js';
import { listServableDigests } from '../../scan/scan-repository.js';
import type { ScanOptions } from '../../scan/scan-repository.js';
import type { StorageWorkers } from '../../scan/storage-workers.js';
import type { TreeReader } from '../../storage/tree-reader.js';
import { findOutcome, replaceOutcome } from './gc-checks.js';
import type { RepoOutcome } from './mark-repository.js';

const MAX_REVALIDATIONS = 5;

export interface Revalidation {
  reader: TreeReader;
  workers: StorageWorkers;
  index: BlobIndex;
  outcomes: RepoOutcome[];
  warnings: Warning[];
  warn: Warn;
  freshAfterMs: number;
  scanOptions: ScanOptions;
  /** repositories whose watch changed since they were read. */
  findChanged: () => string[];
  mark: (scan: RepoScan) => RepoOutcome;
  /** after a round's marks, before its plan (the run reports the blobs marked then, as after step 2). */
  onMarked: () => void;
  /** step 3 again, over every outcome. */
  plan: () => Promise<void>;
}

/** Runs the rounds; returns how many there were (the last one, keeping what still changed, counted). */
export async function revalidateChanged(r: Revalidation): Promise<number> {
  let rounds = 0;
  for (;;) {
    const changed = r.findChanged();
    if (changed.length === 0) return rounds;
    if (++rounds > MAX_REVALIDATIONS) {
      r.warn(
        makeWarning(
          'W_TREE_KEPT_CHANGING',
          `the tree kept changing through ${MAX_REVALIDATIONS} revalidations: ${changed.length} repositories written to last are kept whole this run (${changed.slice(0, 5).join(', ')})`,
        ),
      );
      for (const name of changed) {
        r.index.markAll(listServableDigests(r.reader, name));
        const outcome = findOutcome(r.outcomes, name);
        if (outcome) Object.assign(outcome, { manifestsDeleted: new DigestList(), tagIndexEntries: new Map(), linklessRevisions: [] });
      }
      await r.plan();
      return rounds;
    }
    r.warn(
      makeWarning(
        'W_REVALIDATED',
        `revalidation: ${changed.length} repositories changed while this run read them (${changed.slice(0, 5).join(', ')}${changed.length > 5 ? ', ...' : ''}); read, marked and planned again`,
      ),
    );
    const warningsFrom = r.warnings.length;
    await r.workers.scanRepositories(changed, (scan) => replaceOutcome(r.outcomes, r.mark(scan)), r.freshAfterMs, r.scanOptions);
    orderByRepository(r.warnings, warningsFrom);
    r.outcomes.sort((a, b) => (a.name < b.name ? -1 : 1));
    r.onMarked();
    await r.plan();
  }
}
