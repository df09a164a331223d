// Reads the storage root from a Distribution config.yml, as `registry
// garbage-collect CONFIG` does: storage.filesystem.rootdirectory, overridden
// by REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY; any other storage driver is
// refused (this tool works on local disks only).

import { parse } from 'yaml';
import { JanitorError, errnoCode } from '../errors.js';
import { type FileSystem, readTextFileSync } from './file-system.js';

/** Keys under `storage:` that configure the registry, not a driver. */
const NON_DRIVER_KEYS = new Set(['delete', 'cache', 'maintenance', 'redirect', 'tag']);
export const DEFAULT_FILESYSTEM_ROOT = '/var/lib/registry';

export function rootFromConfigText(text: string, file: string, env: NodeJS.ProcessEnv): string {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
    throw new JanitorError('E_CONFIG', `cannot parse registry config ${file}: ${why}`, { path: file, cause });
  }
  const storage = typeof doc === 'object' && doc !== null ? (doc as { storage?: unknown }).storage : undefined;
  const drivers = typeof storage === 'object' && storage !== null ? Object.keys(storage).filter((k) => !NON_DRIVER_KEYS.has(k)) : [];
  const driver = env.REGISTRY_STORAGE ?? (drivers.length === 1 ? drivers[0] : undefined);
  if (driver === undefined) {
    throw new JanitorError('E_CONFIG', `registry config ${file} names ${drivers.length === 0 ? 'no' : 'more than one'} storage driver`, {
      path: file,
    });
  }
  if (driver !== 'filesystem') {
    throw new JanitorError('E_CONFIG', `registry config ${file} uses the ${driver} storage driver; only filesystem is supported`, {
      path: file,
    });
  }
  const fromEnv = env.REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY;
  if (fromEnv) return fromEnv;
  const params = (storage as Record<string, unknown>).filesystem;
  const configured = typeof params === 'object' && params !== null ? (params as { rootdirectory?: unknown }).rootdirectory : undefined;
  if (configured === undefined || configured === null || configured === '') return DEFAULT_FILESYSTEM_ROOT;
  if (typeof configured !== 'string') {
    throw new JanitorError('E_CONFIG', `registry config ${file}: storage.filesystem.rootdirectory is not a string`, { path: file });
  }
  return configured;
}

/** The text of the registry's config file (a regular file only), or one E_CONFIG line. */
export function readConfigText(fs: FileSystem, file: string): string {
  try {
    return readTextFileSync(fs, file);
  } catch (cause) {
    const why = cause instanceof JanitorError ? cause.message : `${file}: ${errnoCode(cause) ?? String(cause)}`;
    throw new JanitorError('E_CONFIG', `cannot read registry config ${why}`, { path: file, cause });
  }
}

export function rootFromConfigFile(fs: FileSystem, file: string, env: NodeJS.ProcessEnv): string {
  return rootFromConfigText(readConfigText(fs, file), file, env);
}
