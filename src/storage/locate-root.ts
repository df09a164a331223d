// Resolves what the user named (--root, or the config's rootdirectory) to the
// v2 directory. Accepted: the filesystem driver's rootdirectory (holding
// docker/registry/v2), or the v2 directory itself. A rootdirectory that is
// empty, or whose docker/registry/v2 is not created yet, is a registry that
// never received a push: nothing to do. Anything else is refused.

import path from 'node:path';
import { JanitorError, errnoCode } from '../errors.js';
import type { DirEntry, FileSystem } from './file-system.js';
import { V2_BELOW_ROOT, isV2Entry } from './layout.js';
import { refuseSymlinks } from './tree-reader.js';

export interface LocatedRoot {
  /** absolute path of v2, or undefined for a registry with no data yet. */
  v2: string | undefined;
  /** what the user named, resolved. */
  root: string;
}

function listDir(fs: FileSystem, where: string): DirEntry[] {
  try {
    return fs.readdirSync(where, { withFileTypes: true });
  } catch (cause) {
    const code = errnoCode(cause);
    const why =
      code === 'ENOENT'
        ? 'it does not exist'
        : code === 'ENOTDIR'
          ? 'it is not a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : (code ?? String(cause));
    throw new JanitorError('E_NOT_REGISTRY', `cannot use ${where} as the registry root: ${why}`, { path: where, cause });
  }
}

function childDir(fs: FileSystem, entries: DirEntry[], parent: string, name: string): DirEntry[] | undefined {
  const entry = entries.find((e) => e.name === name);
  if (!entry) return undefined;
  const where = `${parent}/${name}`;
  refuseSymlinks([entry], parent);
  if (!entry.isDirectory()) throw new JanitorError('E_NOT_REGISTRY', `${where} is not a directory`, { path: where });
  return listDir(fs, where);
}

export function locateRoot(fs: FileSystem, named: string): LocatedRoot {
  let root: string;
  try {
    // The root itself may be a symlink (/var/lib/registry -> /data/registry):
    // resolve it once; nothing below it is ever followed.
    root = fs.realpathSync(path.resolve(named));
  } catch (cause) {
    throw new JanitorError('E_NOT_REGISTRY', `cannot use ${named} as the registry root: it does not exist`, { path: named, cause });
  }
  const entries = listDir(fs, root);
  const [docker, registry, v2] = V2_BELOW_ROOT;
  const dockerEntries = childDir(fs, entries, root, docker);
  if (dockerEntries) {
    const registryEntries = childDir(fs, dockerEntries, `${root}/${docker}`, registry);
    const v2Entries = registryEntries && childDir(fs, registryEntries, `${root}/${docker}/${registry}`, v2);
    const v2Path = `${root}/${docker}/${registry}/${v2}`;
    // blobs/ and repositories/ are never reached through a symlink.
    if (v2Entries) refuseSymlinks(v2Entries, v2Path);
    return { root, v2: v2Entries ? v2Path : undefined };
  }
  if (path.basename(root) === v2 && entries.every((e) => isV2Entry(e.name))) {
    refuseSymlinks(entries, root);
    return { root, v2: root };
  }
  if (entries.length === 0) return { root, v2: undefined };
  throw new JanitorError(
    'E_NOT_REGISTRY',
    `${root} is not a registry storage tree: expected ${V2_BELOW_ROOT.join('/')} inside it, or a v2 directory holding blobs/ and repositories/`,
    { path: root },
  );
}
