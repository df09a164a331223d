// What the one deleter (vacuum.ts) deletes: typed targets, never raw paths,
// each mapped to the directory the layout (layout.ts) draws for it.

import type { Digest } from '../model/digest.js';
import type { PathSpec } from './layout.js';

export type DeletionTarget =
  | { kind: 'tag'; repository: string; tag: string }
  | { kind: 'tagIndexEntry'; repository: string; tag: string; digest: Digest }
  | { kind: 'revision'; repository: string; digest: Digest }
  | { kind: 'layerLink'; repository: string; digest: Digest }
  | { kind: 'blob'; digest: Digest }
  | { kind: 'journal' }
  | { kind: 'lock' }
  | { kind: 'quarantinedBlob'; digest: Digest }
  | { kind: 'quarantinedRevision'; repository: string; digest: Digest }
  | { kind: 'upload'; repository: string; id: string }
  | { kind: 'emptyRepository'; repository: string };

export function pathSpecOf(target: DeletionTarget): PathSpec {
  switch (target.kind) {
    case 'tag':
      return { kind: 'tagDir', name: target.repository, tag: target.tag };
    case 'tagIndexEntry':
      return { kind: 'tagIndexDir', name: target.repository, tag: target.tag, digest: target.digest };
    case 'revision':
      return { kind: 'revisionDir', name: target.repository, digest: target.digest };
    case 'layerLink':
      return { kind: 'layerDir', name: target.repository, digest: target.digest };
    case 'blob':
      return { kind: 'blobDir', digest: target.digest };
    case 'journal':
      return { kind: 'journal' };
    case 'lock':
      return { kind: 'lock' };
    case 'quarantinedBlob':
      return { kind: 'quarantineBlobDir', digest: target.digest };
    case 'quarantinedRevision':
      return { kind: 'quarantineRevisionDir', name: target.repository, digest: target.digest };
    case 'upload':
      return { kind: 'uploadDir', name: target.repository, id: target.id };
    case 'emptyRepository':
      return { kind: 'repositoryDir', name: target.repository };
  }
}
