// verify: an offline fsck of the registry tree: would every tag pull? It
// never writes, so it runs on a read-only mount while the registry serves.
//
// 1. inventory  list the blob shards (which blobs exist) and find the
//               repositories (--repo globs narrow them)
// 2. scan       each repository: revisions with their manifests parsed,
//               tags, layer links. A repository the scan cannot read is
//               one `unreadable` finding and its tags count as not pulling.
// 3. check      per tag, what a pull needs, as the registry serves it: the
//               tag's current link names a revision of the repository; the
//               manifest blob exists; every blob it references (config,
//               layers, schema1 fsLayers) exists and has a readable layer
//               link in the repository; every child of an index (any depth)
//               has a revision link there and passes the same checks.
//               Layer links whose blob is gone and referrers (OCI subject)
//               are listed too; they break no tag.
// 4. content    --content: every blob step 3 found a tag needs is read in
//               full and hashed (sha256, sha384, sha512), in batches over
//               the read-side threads (-j); a blob whose data does not hash
//               to its digest is a `digest-mismatch`, and step 3 runs again
//               to name every tag that needs it. Steps 3 and 4 draw the
//               progress line on a terminal (and with --progress), as gc's.

import { JanitorError, type Warning, describeError } from '../../errors.js';
import type { BlobIndex } from '../../model/blob-index.js';
import type { Digest } from '../../model/digest.js';
import type { RepoScan, Revision } from '../../model/repository.js';
import { findRepositories } from '../../scan/find-repositories.js';
import { type PrefetchSetting, Prefetcher } from '../../scan/prefetch.js';
import { scanBlobs } from '../../scan/scan-blobs.js';
import { listLayerLinks, scanRepository, scanTags } from '../../scan/scan-repository.js';
import { InProcessWorkers, type StorageWorkers, batchesOf } from '../../scan/storage-workers.js';
import { compileRepositoryGlobs } from '../../select/repository-glob.js';
import type { FileSystem } from '../../storage/file-system.js';
import type { TreeReader } from '../../storage/tree-reader.js';
import type { PhaseListener } from '../phases.js';
import { openTree } from '../skeleton.js';

export type FindingKind =
  | 'dangling-tag' // the tag's current link is missing or unreadable
  | 'missing-revision' // no revision link in the repository for a manifest a tag needs
  | 'missing-blob' // a blob a tag needs (manifest, config, layer) has no data
  | 'missing-layer-link' // a blob a tag needs has no readable _layers link in the repository
  | 'unreadable' // the repository (or a file in it) cannot be read
  | 'digest-mismatch' // a blob a tag needs whose data does not hash to its digest (--content)
  | 'dangling-layer-link'; // a layer link whose blob is gone (breaks no tag)

export interface Finding {
  kind: FindingKind;
  repository: string;
  /** the tags this finding stops from pulling (none for a warning). */
  tags: string[];
  digest: Digest | undefined;
  path: string;
  message: string;
}

export interface VerifyRepository {
  name: string;
  tags: number;
  /** tags that would not pull, sorted. */
  broken: string[];
}

export interface VerifyResult {
  root: string;
  v2: string | undefined;
  repositories: VerifyRepository[];
  /** findings that stop a tag from pulling. */
  findings: Finding[];
  /** findings that break no tag. */
  notices: Finding[];
  /** referrers (OCI subject) of revisions, listed with their subject. */
  referrers: { repository: string; digest: Digest; subject: Digest }[];
  tagsOk: number;
  tagsBroken: number;
  /** --content: blobs re-hashed and their bytes; undefined without --content. */
  content: { blobs: number; bytes: number; mismatched: number } | undefined;
  /** whether a prefetcher warmed the cache for the scan (--prefetch; auto: only on a cold one). */
  prefetched: boolean;
  warnings: Warning[];
  phases: { name: string; ms: number }[];
}

export interface VerifyOptions {
  globs: string[];
  /** --content: re-hash every blob a tag needs. */
  content?: boolean;
  /** builds the read-side threads; defaults to in-process. */
  makeWorkers?: (reader: TreeReader) => StorageWorkers;
  /** reads kept in flight ahead of the inventory and the scan (scan/prefetch.ts); none by default. */
  prefetch?: PrefetchSetting;
  /** a phase's end, or a progress line (report/progress.ts): check counts repositories, content blobs and bytes. */
  onPhase?: PhaseListener;
}

// Blobs per hash job: enough to amortise a message, few enough that the
// threads share a tree of a few huge layers.
const HASH_BATCH = 16;

export async function runVerify(fs: FileSystem, rootNamed: string, options: VerifyOptions): Promise<VerifyResult> {
  const { root, v2, reader, warnings, warn, timer } = openTree(fs, rootNamed, options.onPhase);
  const result: VerifyResult = {
    root,
    v2,
    repositories: [],
    findings: [],
    notices: [],
    referrers: [],
    tagsOk: 0,
    tagsBroken: 0,
    content: undefined,
    prefetched: false,
    warnings,
    phases: timer.phases,
  };
  if (!reader) return result;
  const match = options.globs.length > 0 ? compileRepositoryGlobs(options.globs, 'verify') : () => true;

  // Warms the page cache ahead of the inventory and the scan (--prefetch), until
  // every repository is checked (the content hashes read blob data, which it
  // does not read); it decides nothing.
  const prefetch = Prefetcher.start(reader, options.prefetch ?? { width: 0, probe: false });

  // 1. inventory
  const { blobs, names } = timer.run('inventory', () => {
    try {
      const found = { blobs: scanBlobs(reader), names: findRepositories(reader, warn).filter((n) => match(n)) };
      if (options.globs.length > 0 && found.names.length === 0) throw new JanitorError('E_NOT_FOUND', `no repository matches ${options.globs.join(' ')}`);
      return found;
    } catch (error) {
      prefetch?.stop();
      throw error;
    }
  });
  prefetch?.repositories(names, true);

  // 2. scan and 3. check, one repository at a time (only its findings are held).
  const needed = options.content ? new Set<Digest>() : undefined;
  const check = (checkedOne?: () => void, mismatched?: ReadonlySet<Digest>): void => {
    Object.assign(result, { repositories: [], findings: [], notices: [], referrers: [], tagsOk: 0, tagsBroken: 0 });
    for (const name of names) {
      const checked = checkRepository(reader, blobs, name, needed, mismatched);
      result.findings.push(...checked.findings);
      result.notices.push(...checked.notices);
      result.referrers.push(...checked.referrers);
      result.repositories.push(checked.repository);
      result.tagsBroken += checked.repository.broken.length;
      result.tagsOk += checked.repository.tags - checked.repository.broken.length;
      if (!mismatched) for (const warning of checked.warnings) warn(warning);
      checkedOne?.();
    }
  };
  timer.run('check', () => {
    timer.progress.total(names.length);
    try {
      check(() => {
        prefetch?.scannedOne();
        timer.progress.advance(1);
      });
    } finally {
      // Read here: on a quick cold cache the scan's pace may have started it.
      result.prefetched = prefetch?.running ?? false;
      prefetch?.stop();
    }
  });

  // 4. content
  if (needed) {
    const mismatched = new Set<Digest>();
    const content = { blobs: 0, bytes: 0, mismatched: 0 };
    const workers = options.makeWorkers?.(reader) ?? new InProcessWorkers(reader);
    try {
      await timer.runAsync('content', () => {
        timer.progress.total(needed.size);
        return workers.hash(batchesOf([...needed].sort(), HASH_BATCH), (hashed) => {
          let bytes = 0;
          for (const blob of hashed) {
            if (blob.actual === undefined) continue; // missing: step 3 reported it
            content.blobs++;
            bytes += blob.bytes;
            if (blob.actual !== blob.digest) mismatched.add(blob.digest);
          }
          content.bytes += bytes;
          timer.progress.advance(hashed.length, bytes);
        });
      });
    } finally {
      await workers.close();
    }
    content.mismatched = mismatched.size;
    result.content = content;
    if (mismatched.size > 0) timer.run('attribute', () => check(undefined, mismatched));
  }
  return result;
}

interface Checked {
  repository: VerifyRepository;
  findings: Finding[];
  notices: Finding[];
  referrers: VerifyResult['referrers'];
  warnings: Warning[];
}

function checkRepository(reader: TreeReader, blobs: BlobIndex, name: string, needed?: Set<Digest>, mismatched?: ReadonlySet<Digest>): Checked {
  let scan: RepoScan;
  try {
    scan = scanRepository(reader, name);
  } catch (error) {
    if (!(error instanceof JanitorError)) throw error;
    // What cannot be read cannot be vouched for: every tag counts as broken.
    let tags: string[] = [];
    try {
      tags = scanTags(reader, name, []).map((t) => t.tag);
    } catch {
      // the tags themselves are unreadable: the finding below says where
    }
    const finding: Finding = {
      kind: 'unreadable',
      repository: name,
      tags,
      digest: undefined,
      path: error.path ?? reader.pathOf({ kind: 'repositoryDir', name }),
      message: describeError(error),
    };
    return { repository: { name, tags: tags.length, broken: tags }, findings: [finding], notices: [], referrers: [], warnings: [] };
  }
  return new RepositoryCheck(reader, blobs, scan, needed, mismatched).run();
}

/** The checks of one scanned repository; findings are keyed so that each is reported once with every tag it breaks. */
class RepositoryCheck {
  private readonly revisions: Map<Digest, Revision>;
  private readonly layerLinks = new Map<Digest, boolean>();
  private readonly findings = new Map<string, Finding>();

  constructor(
    private readonly reader: TreeReader,
    private readonly blobs: BlobIndex,
    private readonly scan: RepoScan,
    /** --content: every existing blob a tag needs is added here. */
    private readonly needed?: Set<Digest>,
    /** --content, second pass: blobs whose data does not hash to their digest. */
    private readonly mismatched?: ReadonlySet<Digest>,
  ) {
    this.revisions = new Map(scan.revisions.map((r) => [r.digest, r]));
  }

  run(): Checked {
    const { scan, reader } = this;
    const name = scan.name;
    const broken: string[] = [];
    for (const tag of scan.tags) {
      if (!tag.current) {
        this.add(
          'dangling-tag',
          tag.tag,
          undefined,
          reader.pathOf({ kind: 'tagCurrentLink', name, tag: tag.tag }),
          `${name}:${tag.tag} has no readable current link`,
        );
      } else {
        this.checkManifest(tag.tag, tag.current, new Set());
      }
      if (this.brokenBy(tag.tag)) broken.push(tag.tag);
    }
    const notices: Finding[] = [];
    for (const digest of listLayerLinks(reader, name)) {
      if (!this.blobs.has(digest)) {
        notices.push({
          kind: 'dangling-layer-link',
          repository: name,
          tags: [],
          digest,
          path: reader.pathOf({ kind: 'layerLink', name, digest }),
          message: `${name}: layer link ${digest} names a blob that is gone (serves nothing; gc removes it)`,
        });
      }
    }
    const referrers: VerifyResult['referrers'] = [];
    for (const revision of scan.revisions) {
      for (const subject of revision.manifest?.subjects ?? []) referrers.push({ repository: name, digest: revision.digest, subject });
    }
    return {
      repository: { name, tags: scan.tags.length, broken: broken.sort() },
      findings: [...this.findings.values()],
      notices,
      referrers,
      warnings: scan.warnings,
    };
  }

  private brokenBy(tag: string): boolean {
    for (const finding of this.findings.values()) if (finding.tags.includes(tag)) return true;
    return false;
  }

  /** A manifest the tag needs, by digest: its revision link, its blob, what it references; children likewise. */
  private checkManifest(tag: string, digest: Digest, seen: Set<Digest>): void {
    if (seen.has(digest)) return;
    seen.add(digest);
    const name = this.scan.name;
    const revision = this.revisions.get(digest);
    if (!revision) {
      this.add('missing-revision', tag, digest, this.reader.pathOf({ kind: 'revisionLink', name, digest }), `${name}: manifest ${digest} has no revision link`);
      return;
    }
    if (!revision.manifest) {
      this.add('missing-blob', tag, digest, this.reader.pathOf({ kind: 'blobData', digest }), `manifest blob ${digest} is missing`);
      return;
    }
    this.checkContent(tag, digest);
    for (const blob of revision.manifest.blobs) this.checkBlob(tag, blob);
    for (const child of revision.manifest.children) this.checkManifest(tag, child, seen);
  }

  /** A config or layer blob: its data, and the repository's link to it (the registry serves a blob only through that link). */
  private checkBlob(tag: string, digest: Digest): void {
    const name = this.scan.name;
    if (this.reader.mtimeOf({ kind: 'blobData', digest }) === undefined) {
      this.add('missing-blob', tag, digest, this.reader.pathOf({ kind: 'blobData', digest }), `blob ${digest} is missing`);
    } else {
      this.checkContent(tag, digest);
    }
    if (!this.hasLayerLink(digest)) {
      this.add(
        'missing-layer-link',
        tag,
        digest,
        this.reader.pathOf({ kind: 'layerLink', name, digest }),
        `${name}: blob ${digest} has no readable layer link`,
      );
    }
  }

  private checkContent(tag: string, digest: Digest): void {
    this.needed?.add(digest);
    if (this.mismatched?.has(digest)) {
      this.add('digest-mismatch', tag, digest, this.reader.pathOf({ kind: 'blobData', digest }), `blob ${digest}: its data does not hash to its digest`);
    }
  }

  private hasLayerLink(digest: Digest): boolean {
    let known = this.layerLinks.get(digest);
    if (known === undefined) {
      try {
        known = this.reader.readLink({ kind: 'layerLink', name: this.scan.name, digest }, digest, { optional: true }) !== undefined;
      } catch (error) {
        if (!(error instanceof JanitorError)) throw error;
        known = false; // empty, garbage or naming another digest: the registry cannot serve it either
      }
      this.layerLinks.set(digest, known);
    }
    return known;
  }

  private add(kind: FindingKind, tag: string, digest: Digest | undefined, path: string, message: string): void {
    const key = `${kind} ${path}`;
    const found = this.findings.get(key);
    if (found) {
      if (!found.tags.includes(tag)) found.tags.push(tag);
    } else {
      this.findings.set(key, { kind, repository: this.scan.name, tags: [tag], digest, path, message });
    }
  }
}
