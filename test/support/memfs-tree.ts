// A registry tree on memfs, built with the production path functions.
import { Volume } from 'memfs';
import { TreeBuilder, type WritableFileSystem } from '../../src/testing/tree-builder.js';

export const ROOT = '/srv/registry';
export const V2 = `${ROOT}/docker/registry/v2`;

/** The production interface plus the memfs calls tests use to damage trees. */
export type MemFs = WritableFileSystem & {
  symlinkSync(target: string, path: string): void;
  renameSync(from: string, to: string): void;
  readFileSync(path: string): Uint8Array;
};

export function memTree(): { fs: MemFs; tree: TreeBuilder; files: () => string[] } {
  // memfs declares readdirSync's result as one union for every option set;
  // with { withFileTypes: true } it returns Dirents, which is what we call.
  const fs = new Volume() as unknown as MemFs;
  const tree = new TreeBuilder(fs, V2);
  return { fs, tree, files: () => listFiles(fs, ROOT) };
}

/** Every file below `dir`, relative to it, sorted: the state on disk. */
export function listFiles(fs: WritableFileSystem, dir: string): string[] {
  const out: string[] = [];
  const walk = (at: string, rel: string): void => {
    for (const entry of fs.readdirSync(at, { withFileTypes: true })) {
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(`${at}/${entry.name}`, childRel);
      else out.push(childRel);
    }
  };
  walk(dir, '');
  return out.sort();
}
