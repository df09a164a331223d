// Finding repositories, as the registry's catalog does: walk repositories/
// recursively, never entering a directory whose name starts with '_'. A
// directory with a `_layers` (v2.8) or `_manifests` (v3) child is a
// repository, and the walk goes on below it: `a/b` and `a/b/c` can both be
// repositories. Names follow isRepositoryName (storage/repository-names.ts):
// what 2.8.2 itself walks and serves, `Foo/bar` and `Example.COM/team/app`
// included. An invalid name on a repository is an error (v2.8 aborts the
// whole GC on one too, and on `host:port/x`, whose ':' its filesystem driver
// refuses).

import { JanitorError, type Warn, makeWarning } from '../errors.js';
import type { DirEntry } from '../storage/file-system.js';
import { isRepositoryOwnDir, marksRepository } from '../storage/layout.js';
import { isRepositoryName } from '../storage/repository-names.js';
import type { TreeReader } from '../storage/tree-reader.js';

/**
 * `skip` (--skip-repo) names repositories the caller will not read; their
 * names are not validated either, so a badly named one can be skipped.
 * `visit` sees every directory the walk lists below repositories/, with
 * its entries (gc's housekeeping looks for _uploads and empty ones there).
 */
export function findRepositories(
  reader: TreeReader,
  warn: Warn,
  skip: (name: string) => boolean = () => false,
  visit?: (name: string, entries: readonly DirEntry[]) => void,
): string[] {
  const found: string[] = [];
  // A brand-new registry has no repositories/ until its first push.
  const top = reader.list({ kind: 'repositoriesRoot' }, { optional: true });
  if (!top) return found;
  const rootPath = reader.pathOf({ kind: 'repositoriesRoot' });
  const pending: { name: string; entries: typeof top }[] = [{ name: '', entries: top }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { name, entries } = next;
    if (name !== '') visit?.(name, entries);
    if (name !== '' && entries.some((e) => e.isDirectory() && marksRepository(e.name))) {
      if (!isRepositoryName(name) && !skip(name)) {
        const where = reader.pathOf({ kind: 'repositoryDir', name });
        throw new JanitorError('E_BAD_NAME', `invalid repository name ${JSON.stringify(name)} at ${where}`, { path: where });
      }
      found.push(name);
    }
    for (const entry of entries) {
      if (isRepositoryOwnDir(entry.name)) continue;
      const child = name === '' ? entry.name : `${name}/${entry.name}`;
      if (!entry.isDirectory()) {
        warn(makeWarning('W_STRAY_FILE', `ignoring stray file ${rootPath}/${child}`, { path: `${rootPath}/${child}` }));
        continue;
      }
      // Listing by raw relative path: the name is not validated until it
      // proves to be a repository, and it is only ever read here.
      const childEntries = reader.list({ kind: 'repositoryDir', name: child });
      if (childEntries) pending.push({ name: child, entries: childEntries });
    }
  }
  return found.sort();
}
