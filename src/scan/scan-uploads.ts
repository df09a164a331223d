// Reading unfinished uploads: the upload directories under one name's
// _uploads/ (a repository's, or a name whose first push never finished:
// 2.8.2 writes _uploads/<uuid>/ before anything else of a new repository),
// and an upload's startedat. Only gc's housekeeping reads them.

import { JanitorError } from '../errors.js';
import { parseStartedAt } from '../model/upload-age.js';
import { isUploadId } from '../storage/layout.js';
import type { TreeReader } from '../storage/tree-reader.js';

export interface UploadListing {
  /** the upload directories, by id. */
  ids: string[];
  /** what else _uploads/ holds (a file, a directory not named by a UUID), as paths: never touched. */
  strays: string[];
}

/**
 * The uploads under `name`/_uploads/ (none when there is no _uploads/).
 * Throws as the reader does for an unreadable _uploads/ or a symbolic link
 * in it: the caller leaves every upload of that name.
 */
export function listUploads(reader: TreeReader, name: string): UploadListing {
  const listing: UploadListing = { ids: [], strays: [] };
  // A name that never received an upload has no _uploads/.
  const entries = reader.list({ kind: 'uploadsRoot', name }, { optional: true }) ?? [];
  for (const entry of entries) {
    if (entry.isDirectory() && isUploadId(entry.name)) listing.ids.push(entry.name);
    else listing.strays.push(`${reader.pathOf({ kind: 'uploadsRoot', name })}/${entry.name}`);
  }
  listing.ids.sort();
  return listing;
}

/**
 * When the upload began, as its startedat says; undefined when startedat
 * is missing, unreadable (not a regular file, a symlink: never followed) or
 * not RFC 3339: the caller then goes by the newest mtime in the upload.
 */
export function readStartedAt(reader: TreeReader, name: string, id: string): number | undefined {
  try {
    const read = reader.read({ kind: 'uploadStartedAt', name, id }, { optional: true });
    return read && parseStartedAt(read.bytes.toString('latin1'));
  } catch (error) {
    if (error instanceof JanitorError) return undefined;
    throw error;
  }
}
