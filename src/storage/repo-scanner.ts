// How repositories get scanned. The mark phase hands a list of names to a
// RepoScanner and consumes each RepoScan as it arrives; the scanner owns the
// only concurrency bound of the read side (-j). In-process scanning is the
// default and what the unit tests use on memfs; scan-pool.ts spreads the
// same scanRepository() over worker threads on the real filesystem.

import { type RepoScan, scanRepository } from './scan-repository.js';
import type { TreeReader } from './tree-reader.js';

export interface RepoScanner {
  scan(names: readonly string[], onScan: (scan: RepoScan) => void): Promise<void>;
}

export class InProcessScanner implements RepoScanner {
  private readonly reader: TreeReader;

  constructor(reader: TreeReader) {
    this.reader = reader;
  }

  async scan(names: readonly string[], onScan: (scan: RepoScan) => void): Promise<void> {
    for (const name of names) onScan(scanRepository(this.reader, name));
  }
}
