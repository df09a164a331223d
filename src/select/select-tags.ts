// Deciding, per repository, which tags go. Each rule applies on its own:
// its keep conditions protect its own candidates, and a tag is removed when
// any rule (or an explicit REPO:TAG) removes it. So a policy may say "keep
// latest, remove what is older than 30d" and "remove pr-* older than 3d"
// without the first rule's 30 days shielding the pr-* tags. Explicit
// REPO:TAGs are checked against the command line's keep flags
// (protect-only rules). keep-latest ranks candidates by push time, newest
// first; equal push times rank by name in natural order, the later name
// counting as newer (build-10 before build-9).

import type { Digest } from '../model/digest.js';
import { JanitorError, type Warning, makeWarning } from '../errors.js';
import type { ExplicitTag, Rule } from './rules.js';

export interface TagInfo {
  tag: string;
  current: Digest | undefined;
  pushedMs: number;
}

export interface TagDecision {
  repository: string;
  tag: string;
  digest: Digest | undefined;
  pushedMs: number;
  remove: boolean;
  reason: string;
  /** named as REPO:TAG: removed whatever its age (the grace window spares only rule-selected tags). */
  explicit?: boolean;
}

/** A compiled rule as plain data: patterns by their source. */
export interface ResolvedRule {
  origin: string;
  repositories: string[];
  excludeRepositories: string[];
  tag: string | null;
  keepTags: string[];
  keepLatest: number | null;
  olderThanMs: number | null;
  protectOnly: boolean;
}

// Made at the first ranking, not at load: building it loads ICU's collation
// data, 11 ms of every run's start (gc included, which never ranks tags).
let naturalOrder: Intl.Collator | undefined;
function compareNaturally(a: string, b: string): number {
  naturalOrder ??= new Intl.Collator('en', { numeric: true });
  return naturalOrder.compare(a, b);
}

function age(nowMs: number, pushedMs: number): string {
  const hours = (nowMs - pushedMs) / 3_600_000;
  return hours >= 48 ? `${Math.floor(hours / 24)} days ago` : hours >= 1 ? `${Math.floor(hours)} hours ago` : 'within the hour';
}

export class TagSelector {
  private readonly rules: Rule[];
  private readonly explicit: ExplicitTag[];
  private readonly nowMs: number;
  private readonly found = new Set<string>();
  private readonly seenRepositories = new Set<string>();
  private readonly skippedRepositories = new Set<string>();
  private readonly ruleMatched = new Set<Rule>();

  constructor(rules: Rule[], explicit: ExplicitTag[], nowMs: number) {
    this.rules = rules;
    this.explicit = explicit;
    this.nowMs = nowMs;
  }

  /** Decisions for every candidate tag of one repository (others are untouched). */
  decide(repository: string, tags: readonly TagInfo[]): TagDecision[] {
    this.seenRepositories.add(repository);
    const removeBy = new Map<string, string>();
    const keepBy = new Map<string, string>();
    const blocked = new Map<string, string>();
    for (const { repository: r, tag } of this.explicit) {
      if (r !== repository) continue;
      if (tags.some((t) => t.tag === tag)) {
        this.found.add(`${r}:${tag}`);
        removeBy.set(tag, 'named on the command line');
      }
    }
    const explicitHere = new Set(removeBy.keys());
    for (const rule of this.rules) {
      if (!rule.matchRepository(repository)) continue;
      this.ruleMatched.add(rule);
      // A protect-only rule checks the explicit tags, ranked for keep-latest
      // among all the repository's tags its --tag matches.
      const pool = tags.filter((t) => (rule.tag ? rule.tag.test(t.tag) : true));
      const candidates = rule.protectOnly ? tags.filter((t) => explicitHere.has(t.tag)) : pool;
      const latest = new Set<string>();
      if (rule.keepLatest !== undefined) {
        const ranked = [...(rule.protectOnly ? pool : candidates)].sort((a, b) => b.pushedMs - a.pushedMs || compareNaturally(b.tag, a.tag));
        for (const t of ranked.slice(0, rule.keepLatest)) latest.add(t.tag);
      }
      for (const t of candidates) {
        const keepTag = rule.keepTags.find((k) => k.test(t.tag));
        let kept: string | undefined;
        if (keepTag) kept = `${rule.origin}: kept by keep-tag ${keepTag.source}`;
        else if (latest.has(t.tag)) kept = `${rule.origin}: one of the ${rule.keepLatest} most recently pushed`;
        else if (rule.olderThanMs !== undefined && this.nowMs - t.pushedMs < rule.olderThanMs) {
          kept = `${rule.origin}: pushed ${age(this.nowMs, t.pushedMs)}, newer than the older-than limit`;
        }
        if (rule.protectOnly) {
          if (kept) blocked.set(t.tag, kept);
        } else if (kept) {
          if (!keepBy.has(t.tag)) keepBy.set(t.tag, kept);
        } else if (!removeBy.has(t.tag)) {
          // Every narrowing rule has a tag pattern, a keep-latest or an
          // older-than above zero, so the reason is never empty.
          const why = [
            rule.tag ? `matches ${rule.tag.source}` : '',
            rule.keepLatest ? `not one of the ${rule.keepLatest} most recently pushed` : '',
            rule.olderThanMs !== undefined ? `pushed ${age(this.nowMs, t.pushedMs)}` : '',
          ]
            .filter(Boolean)
            .join(', ');
          removeBy.set(t.tag, `${rule.origin}: ${why || 'selected'}`);
        }
      }
    }
    const decisions: TagDecision[] = [];
    for (const t of tags) {
      const removed = blocked.has(t.tag) ? undefined : removeBy.get(t.tag);
      const kept = blocked.get(t.tag) ?? keepBy.get(t.tag);
      if (removed === undefined && kept === undefined) continue;
      const remove = removed !== undefined;
      const reason = removed ?? kept ?? '';
      const decision: TagDecision = { repository, tag: t.tag, digest: t.current, pushedMs: t.pushedMs, remove, reason };
      if (remove && explicitHere.has(t.tag)) decision.explicit = true;
      decisions.push(decision);
    }
    return decisions;
  }

  /** The selection as plain data, rules as compiled (a plan file's header records it: commands/plan-file.ts). */
  describe(): { explicit: ExplicitTag[]; rules: ResolvedRule[] } {
    return {
      explicit: this.explicit.map(({ repository, tag }) => ({ repository, tag })),
      rules: this.rules.map((rule) => ({
        origin: rule.origin,
        repositories: [...rule.repositories],
        excludeRepositories: [...rule.excludeRepositories],
        tag: rule.tag?.source ?? null,
        keepTags: rule.keepTags.map((k) => k.source),
        keepLatest: rule.keepLatest ?? null,
        olderThanMs: rule.olderThanMs ?? null,
        protectOnly: rule.protectOnly,
      })),
    };
  }

  /** A repository the run does not read (--skip-repo): none of its tags can be selected. */
  skip(repository: string): void {
    this.skippedRepositories.add(repository);
  }

  /** After every repository was seen: explicit tags that do not exist are errors. */
  assertExplicitFound(): void {
    for (const { repository, tag } of this.explicit) {
      if (this.skippedRepositories.has(repository)) {
        throw new JanitorError('E_USAGE', `tag ${repository}:${tag} is in a repository skipped by --skip-repo`);
      }
      if (!this.seenRepositories.has(repository)) {
        throw new JanitorError('E_NOT_FOUND', `repository ${repository} does not exist`);
      }
      if (!this.found.has(`${repository}:${tag}`)) {
        throw new JanitorError('E_NOT_FOUND', `tag ${repository}:${tag} does not exist`);
      }
    }
  }

  /** Rules whose repository globs matched nothing (a typo, most likely). */
  unmatchedRules(): Rule[] {
    return this.rules.filter((rule) => !this.ruleMatched.has(rule));
  }
}

/** The warning (rendered loud) when a selection leaves a repository with no tag, else undefined. */
export function allTagsRemovedWarning(repository: string, removed: number, total: number): Warning | undefined {
  if (removed === 0 || removed !== total) return undefined;
  return makeWarning('W_ALL_TAGS_REMOVED', `ALL ${total} tags of ${repository} are removed: nothing in it will be pullable by tag`, { repository });
}

/**
 * The grace window for tags: a rule-selected tag pushed after
 * `freshAfterMs` stays; a tag named as REPO:TAG, or one an interrupted run
 * already chose (`forced`), goes whatever its age. Returns how many stayed.
 */
export function spareFreshTags(decisions: TagDecision[], forced: ReadonlySet<string>, freshAfterMs: number): number {
  let spared = 0;
  for (const decision of decisions) {
    if (decision.remove && !decision.explicit && !forced.has(decision.tag) && decision.pushedMs > freshAfterMs) {
      Object.assign(decision, { remove: false, reason: `${decision.reason}; kept: pushed within the grace window (--grace)` });
      spared++;
    }
  }
  return spared;
}
