// A filesystem whose writes to one file (a trash's manifest) go through a
// test's hook: a full disk, a write cut short. Everything else is `fs`.
import type { FileSystem } from '../../src/storage/file-system.js';
import type { MemFs } from './memfs-tree.js';

/**
 * `fs` with every writeSync to `file` handed to `write` (n: the how-many-th
 * write to it, from 1; `pass` writes what it is given); a throw there is
 * the write's failure.
 */
export function withWritesTo(fs: MemFs, file: string, write: (n: number, data: string, pass: (data: string) => number) => number): FileSystem {
  let fileFd: number | undefined;
  let writes = 0;
  return new Proxy(fs, {
    get(target, prop, receiver) {
      if (prop === 'openSync')
        return (path: string, ...rest: unknown[]) => {
          const fd = (target.openSync as (...a: unknown[]) => number)(path, ...rest);
          if (path === file) fileFd = fd;
          return fd;
        };
      if (prop === 'writeSync')
        return (fd: number, data: string) => (fd === fileFd ? write(++writes, data, (part) => target.writeSync(fd, part)) : target.writeSync(fd, data));
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
