// A registry tree on memfs, built with the production path functions.
import { Volume } from 'memfs';
import { TreeBuilder, type WritableFileSystem } from './tree-builder.js';

export const ROOT = '/srv/registry';
export const V2 = `${ROOT}/docker/registry/v2`;

/** The production interface plus the memfs calls tests use to damage trees. */
export type MemFs = WritableFileSystem & {
  symlinkSync(target: string, path: string): void;
  renameSync(from: string, to: string): void;
  readFileSync(path: string): Uint8Array;
};

/** Two days: older than any grace window the tests use (the default is 1h). */
const AGED_MS = 2 * 86_400_000;

/**
 * A memfs volume whose writes land two days in the past (the file and
 * every directory above it), so the default grace window (1h) spares
 * nothing, as on a registry whose last push was long ago. An explicit
 * utimes afterwards (a tag "pushed 30 days ago") still sets its own time;
 * grace tests set fresh times the same way.
 */
function agedVolume(): MemFs {
  const fs = new Volume() as unknown as MemFs;
  const age = (path: string): void => {
    const old = (Date.now() - AGED_MS) / 1000;
    for (let at = path; at.length > 1; at = at.slice(0, at.lastIndexOf('/')) || '/') {
      try {
        fs.utimesSync(at, old, old);
      } catch {
        return; // above what exists
      }
    }
  };
  const writeFileSync = fs.writeFileSync.bind<(path: string, data: string | Uint8Array, options?: { flag?: string }) => void>(fs);
  const mkdirSync = fs.mkdirSync.bind(fs);
  const symlinkSync = fs.symlinkSync.bind(fs);
  return Object.assign(fs, {
    writeFileSync: (path: string, data: string | Uint8Array, options?: { flag?: string }) => {
      writeFileSync(path, data, options);
      age(path);
    },
    mkdirSync: (path: string, options: { recursive: true }) => {
      const made = mkdirSync(path, options);
      age(path);
      return made;
    },
    symlinkSync: (target: string, path: string) => {
      symlinkSync(target, path);
      age(path.slice(0, path.lastIndexOf('/')));
    },
  });
}

export function memTree(): { fs: MemFs; tree: TreeBuilder; files: () => string[] } {
  // memfs declares readdirSync's result as one union for every option set;
  // with { withFileTypes: true } it returns Dirents, which is what we call.
  const fs = agedVolume();
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

/**
 * A killed run's lock names a process that is gone. A kill simulated in
 * this (live) process leaves a lock naming it, so give the lock a pid no
 * process has, as the rerun after a real kill -9 would find it.
 */
export function markLockHolderDead(fs: MemFs): void {
  const lock = `${V2}/_janitor/lock`;
  let holder: object;
  try {
    holder = JSON.parse(Buffer.from(fs.readFileSync(lock)).toString()) as object;
  } catch {
    return; // no lock left: nothing to mark
  }
  fs.writeFileSync(lock, JSON.stringify({ ...holder, pid: 2 ** 22 + 17 }));
}

/** Runs `write` once, when the run first makes `call` on a path matching `at`. */
export function writeDuring(
  fs: MemFs,
  call: 'readdirSync' | 'lstatSync' | 'openSync' | 'renameSync' | 'rmdirSync',
  at: (path: string) => boolean,
  write: () => void,
): MemFs {
  let done = false;
  return new Proxy(fs, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop !== call || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
      return (path: string, ...rest: unknown[]) => {
        if (!done && at(path)) {
          done = true;
          write();
        }
        return (value as (...a: unknown[]) => unknown).call(target, path, ...rest);
      };
    },
  });
}

/** Throws like a killed process after `budget` unlinks and rmdirs: nothing more is removed. */
export function killedAfter(fs: MemFs, budget: number): MemFs {
  let left = budget;
  return new Proxy(fs, {
    get(target, prop, receiver) {
      if (prop === 'unlinkSync' || prop === 'rmdirSync') {
        return (p: string) => {
          if (left-- <= 0) throw Object.assign(new Error('killed'), { code: 'EIO' });
          target[prop](p);
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Whether anything (a file, a directory, a symlink) is at `path`. */
export function exists(fs: MemFs, path: string): boolean {
  try {
    fs.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
