// `apply FILE` for a gc or prune plan: the plan file (commands/plan-file.ts)
// stands in for the mark of every repository it saw unchanged, and
// index.ts runs the rest of gc as it is (plan, revalidate, housekeeping,
// the sweep with its quarantine and recheck, verify).
//
// - the blob index holds the plan's blobs alone, every one unmarked: no
//   other blob can go, and a mark of another digest changes nothing
// - a repository whose fingerprint (scan/fingerprint-repository.ts) is as
//   the plan recorded it gets its outcome from the plan's records: no
//   pushed, moved or removed tag, revision or layer link since, so the
//   plan's decision for it holds
// - every other repository (fingerprint changed, or new since the plan) is
//   read and marked again (restrictMark): the plan's tag removals count as
//   a journal's (commands/journal.ts withJournalTags: a tag pushed again
//   since is a new tag and stays), and of what the mark would delete only
//   what the plan lists goes; every revision that stays marks what it
//   references, and every layer link the plan does not list marks its blob
// - nothing outside the plan is ever deleted; a target already gone (an
//   earlier apply of the same plan deleted it) is simply not there: so an
//   interrupted apply is finished by applying the same plan again

import { makeWarning, type Warn } from '../../errors.js';
import { BlobIndex } from '../../model/blob-index.js';
import { type Algorithm, type Digest, shardOf, splitDigest } from '../../model/digest.js';
import { DigestList } from '../../model/digest-list.js';
import { markRevision, selectKept } from '../../model/reachability.js';
import type { RepoScan } from '../../model/repository.js';
import { fingerprintReadsOf, fingerprintRepository, watchOfFingerprint } from '../../scan/fingerprint-repository.js';
import { listLayerLinksIn, listRevisionDirs } from '../../scan/scan-repository.js';
import type { TagDecision } from '../../select/select-tags.js';
import type { FileSystem } from '../../storage/file-system.js';
import type { TreeReader } from '../../storage/tree-reader.js';
import type { JournalTag } from '../journal.js';
import { type ApplyReportBase, type PlanHeader, type PlanRepository, type PlanTargetKind, readPlan, startApplyReport } from '../plan-file.js';
import type { RepoOutcome } from './mark-repository.js';

/** Why a target of the plan is not deleted. */
export type DropReason = 'gone' | 'needed' | 'grace' | 'repushed';

export interface DroppedTarget {
  kind: PlanTargetKind;
  repository: string | null;
  digest: string | null;
  tag: string | null;
  reason: DropReason;
}

/** What `apply` reports beside gc's result. Its repositories read again: their fingerprint changed, or they are new since the plan. */
export interface ApplyReport extends ApplyReportBase {
  /** targets of the plan not deleted, but those already gone (counted in droppedCounts). */
  dropped: DroppedTarget[];
  droppedCounts: { kind: PlanTargetKind; reason: DropReason; count: number }[];
}

/** One repository's part of the plan. */
interface RepoPlan {
  record: PlanRepository | undefined;
  tags: TagDecision[];
  tagIndexEntries: Map<string, Digest[]>;
  revisions: Digest[];
  linkless: Digest[];
  layerLinks: Digest[];
}

const emptyRepoPlan = (): RepoPlan => ({ record: undefined, tags: [], tagIndexEntries: new Map(), revisions: [], linkless: [], layerLinks: [] });

export class PlanApplication {
  readonly header: PlanHeader;
  readonly report: ApplyReport;
  private readonly file: string;
  private readonly repositories = new Map<string, RepoPlan>();
  private readonly blobShards = new Map<string, string[]>();
  private readonly candidates = new Map<string, Digest[]>();
  private readonly droppedIn = new Map<string, DroppedTarget[]>();
  private readonly changed = new Set<string>();

  /** Reads the whole plan (refusing a damaged one) before anything is decided. */
  constructor(fs: FileSystem, file: string) {
    this.file = file;
    const repoOf = (name: string): RepoPlan => {
      let plan = this.repositories.get(name);
      if (!plan) this.repositories.set(name, (plan = emptyRepoPlan()));
      return plan;
    };
    this.header = readPlan(fs, file, {
      target: (t) => {
        const digest = t.digest as Digest;
        if (t.kind === 'blob') {
          const { algorithm, hex } = splitDigest(digest);
          const key = `${algorithm}/${shardOf(hex)}`;
          const hexes = this.blobShards.get(key);
          if (hexes) hexes.push(hex);
          else this.blobShards.set(key, [hex]);
          return;
        }
        const plan = repoOf(t.repository ?? '');
        const repository = t.repository ?? '';
        if (t.kind === 'tag')
          plan.tags.push({
            repository,
            tag: t.tag ?? '',
            digest: t.digest === null ? undefined : digest,
            pushedMs: t.pushedMs ?? 0,
            remove: true,
            reason: t.reason,
          });
        else if (t.kind === 'tagIndexEntry') {
          const list = plan.tagIndexEntries.get(t.tag ?? '');
          if (list) list.push(digest);
          else plan.tagIndexEntries.set(t.tag ?? '', [digest]);
        } else if (t.kind === 'revision') plan.revisions.push(digest);
        else if (t.kind === 'linklessRevision') plan.linkless.push(digest);
        else plan.layerLinks.push(digest);
      },
      repository: (r) => {
        repoOf(r.name).record = r;
      },
    });
    this.report = startApplyReport(file, this.header);
  }

  /**
   * The files an apply reads, as the plan counts them (the prefetcher's
   * rule, scan/cache-probe.ts isApplyLong): `inventory` the listings and
   * tag links of the fingerprints sortRepositories took (those of `names`
   * the plan has); `after` every target and kept tag's revision.
   */
  plannedReads(names: readonly string[]): { inventory: number; after: number } {
    const { totals } = this.header;
    let inventory = 0;
    for (const name of names) {
      const record = this.repositories.get(name)?.record;
      if (record) inventory += fingerprintReadsOf(record.tags);
    }
    let after = totals.tags + totals.tagIndexEntries + totals.manifests + totals.linklessRevisions + totals.layerLinks + totals.blobs;
    for (const { record } of this.repositories.values()) after += record?.keptTags.length ?? 0;
    return { inventory, after };
  }

  /** The plan's blobs, every one unmarked: the only blobs the run can delete. */
  blobIndex(): BlobIndex {
    const index = new BlobIndex();
    for (const [key, hexes] of this.blobShards) {
      const slash = key.indexOf('/');
      index.addShard(key.slice(0, slash) as Algorithm, key.slice(slash + 1), hexes);
    }
    this.blobShards.clear();
    return index;
  }

  /**
   * Splits the repositories on disk now: those to read again (returned),
   * and those the plan stands for (their outcomes pushed onto `outcomes`).
   */
  sortRepositories(reader: TreeReader, names: readonly string[], outcomes: RepoOutcome[], onEach: () => void = () => {}): string[] {
    const reread: string[] = [];
    for (const name of names) {
      onEach();
      const plan = this.repositories.get(name);
      const record = plan?.record;
      // Listed before the fingerprint is taken: unchanged, it is what the plan was made on.
      const revisionNames = record?.everyRevisionRead === true && plan && plan.revisions.length > 0 ? listRevisionDirs(reader, name) : undefined;
      if (!plan || !record || fingerprintRepository(reader, name) !== record.fingerprint) {
        reread.push(name);
        this.changed.add(name);
        continue;
      }
      outcomes.push({ ...this.plannedOutcome(name, plan, record), revisionNames });
    }
    // Repositories of the plan that are gone: what it planned in them is gone with them.
    const present = new Set(names);
    for (const [name, plan] of this.repositories) if (!present.has(name)) this.droppedIn.set(name, this.everyTargetOf(name, plan, 'gone'));
    this.report.repositoriesReread = reread.length;
    this.report.reread = reread;
    return reread;
  }

  /** The plan's tag removals, as a journal's (withJournalTags). */
  journalTags(): JournalTag[] {
    return [...this.repositories.values()].flatMap((plan) => plan.tags.map(({ repository, tag, digest, pushedMs }) => ({ repository, tag, digest, pushedMs })));
  }

  /**
   * A repository read again, marked with the plan's tag removals as a
   * journal's: of what that mark deletes, only what the plan lists goes;
   * everything that stays is marked.
   */
  restrictMark(scan: RepoScan, outcome: RepoOutcome, index: BlobIndex, reader: TreeReader): RepoOutcome {
    const plan = this.repositories.get(scan.name) ?? emptyRepoPlan();
    const dropped: DroppedTarget[] = [];
    const drop = (kind: PlanTargetKind, reason: DropReason, what: { digest?: string; tag?: string }): void =>
      void dropped.push({ kind, repository: scan.name, digest: what.digest ?? null, tag: what.tag ?? null, reason });
    const removed = new Set(outcome.tagsRemoved.map((d) => d.tag));
    const present = new Set(scan.tags.map((t) => t.tag));
    for (const t of plan.tags) if (!removed.has(t.tag)) drop('tag', present.has(t.tag) ? 'repushed' : 'gone', { tag: t.tag });
    // What the plan lists and the mark still deletes goes; the mark's own additions stay.
    const revisions = new Set(plan.revisions);
    const manifests = new DigestList();
    for (const digest of outcome.manifestsDeleted) if (revisions.has(digest)) manifests.push(digest);
    const going = new Set(manifests);
    const onDisk = new Map(scan.revisions.map((r) => [r.digest, r]));
    // A revision a remaining tag reaches is needed, fresh or not (the registry writes a revision link again when a
    // tag is pushed onto its manifest); `grace` names only what the window alone keeps.
    let reached: Set<Digest> | undefined;
    const reachedByTags = (): Set<Digest> => (reached ??= selectKept(scan, { deleteUntagged: true, removedTags: removed }));
    for (const digest of plan.revisions) {
      if (going.has(digest)) continue;
      const revision = onDisk.get(digest);
      drop('revision', revision === undefined ? 'gone' : revision.fresh && !reachedByTags().has(digest) ? 'grace' : 'needed', { digest });
    }
    for (const revision of scan.revisions) if (!going.has(revision.digest)) markRevision(index, revision);
    const tagIndexEntries = new Map<string, DigestList>();
    for (const [tag, digests] of plan.tagIndexEntries) {
      const now = new Set(outcome.tagIndexEntries.get(tag) ?? []);
      const list = new DigestList();
      for (const digest of digests) {
        if (now.has(digest)) list.push(digest);
        else drop('tagIndexEntry', 'needed', { tag, digest });
      }
      if (list.length > 0) tagIndexEntries.set(tag, list);
    }
    const linkless = new Set(scan.linklessRevisions);
    const linklessRevisions = plan.linkless.filter((digest) => linkless.has(digest));
    // Layer links: the plan's that are still there are the candidates (plan-sweep.ts); any other marks its blob.
    const planned = new Set(plan.layerLinks);
    const listed = listLayerLinksIn(
      reader,
      scan.name,
      scan.layers.map((l) => l.algorithm),
    );
    const candidates: Digest[] = [];
    for (const digest of listed) {
      if (planned.has(digest)) candidates.push(digest);
      else index.mark(digest);
    }
    this.candidates.set(scan.name, candidates);
    const there = new Set(candidates);
    for (const digest of plan.layerLinks) if (!there.has(digest)) drop('layerLink', 'gone', { digest });
    this.droppedIn.set(scan.name, dropped);
    return { ...outcome, manifestsDeleted: manifests, tagIndexEntries, linklessRevisions };
  }

  /** The layer links plan-sweep.ts may delete in a repository: the plan's (still there, in one read again). */
  layerLinkCandidates(name: string): readonly Digest[] {
    return this.candidates.get(name) ?? [];
  }

  /**
   * After the plan phase: what of the plan does not go, and why. Reasons are
   * checked: a blob or layer link written within the grace window is
   * `grace`, one a changed repository references `needed`.
   */
  settle(reader: TreeReader, outcomes: readonly RepoOutcome[], index: BlobIndex, freshAfterMs: number, warn: Warn): void {
    const dropped: DroppedTarget[] = [];
    for (const list of this.droppedIn.values()) dropped.push(...list);
    for (const outcome of outcomes) {
      const going = new Set(outcome.layerLinksDeleted);
      for (const digest of this.layerLinkCandidates(outcome.name)) {
        if (going.has(digest)) continue;
        const fresh = (reader.mtimeOf({ kind: 'layerLink', name: outcome.name, digest }) ?? 0) > freshAfterMs;
        dropped.push({ kind: 'layerLink', repository: outcome.name, digest, tag: null, reason: fresh ? 'grace' : 'needed' });
      }
    }
    index.forEachMarkedExisting((digest) => {
      const fresh = (reader.mtimeOf({ kind: 'blobData', digest }) ?? 0) > freshAfterMs;
      dropped.push({ kind: 'blob', repository: null, digest, tag: null, reason: fresh ? 'grace' : 'needed' });
    });
    const counts = new Map<string, { kind: PlanTargetKind; reason: DropReason; count: number }>();
    for (const d of dropped) {
      const key = `${d.kind} ${d.reason}`;
      const entry = counts.get(key);
      if (entry) entry.count++;
      else counts.set(key, { kind: d.kind, reason: d.reason, count: 1 });
    }
    this.report.droppedCounts = [...counts.values()];
    this.report.dropped = dropped.filter((d) => d.reason !== 'gone');
    const kept = this.report.dropped.length;
    if (kept > 0)
      warn(
        makeWarning(
          'W_PLAN_DROPPED',
          `${kept} targets of the plan ${this.file} are not deleted: written within the grace window, or needed by what changed since the plan (${this.report.repositoriesReread} repositories read again)`,
          { path: this.file },
        ),
      );
  }

  private plannedOutcome(name: string, plan: RepoPlan, record: PlanRepository): RepoOutcome {
    const list = (digests: readonly Digest[]): DigestList => {
      const out = new DigestList();
      for (const digest of digests) out.push(digest);
      return out;
    };
    this.candidates.set(name, plan.layerLinks);
    return {
      name,
      tags: record.tags,
      revisions: record.revisions,
      tagsRemoved: plan.tags,
      tagsKept: [],
      manifestsDeleted: list(plan.revisions),
      tagIndexEntries: new Map([...plan.tagIndexEntries].map(([tag, digests]) => [tag, list(digests)])),
      layerLinksDeleted: list(plan.layerLinks),
      linklessRevisions: plan.linkless,
      keptByGrace: { tags: 0, manifests: 0 },
      watch: watchOfFingerprint(record.fingerprint),
      // Not fresh: unchanged since the plan, whose window (the same --grace, earlier) spared what was fresh then.
      layers: record.layers.map((algorithm) => ({ algorithm, fresh: false })),
      keptTags: record.keptTags.map(([tag, digest]) => ({ tag, digest })),
    };
  }

  private everyTargetOf(name: string, plan: RepoPlan, reason: DropReason): DroppedTarget[] {
    const out: DroppedTarget[] = [];
    const add = (kind: PlanTargetKind, digest: string | null, tag: string | null): void => void out.push({ kind, repository: name, digest, tag, reason });
    for (const t of plan.tags) add('tag', null, t.tag);
    for (const [tag, digests] of plan.tagIndexEntries) for (const digest of digests) add('tagIndexEntry', digest, tag);
    for (const digest of plan.revisions) add('revision', digest, null);
    for (const digest of plan.linkless) add('linklessRevision', digest, null);
    for (const digest of plan.layerLinks) add('layerLink', digest, null);
    return out;
  }
}
