// Tag selection rules (Portus' garbage_collector and Harbor's retention
// semantics), shared by `tags rm` and `prune`, from flags or a policy file.
//
// A rule's candidates: the tags of repositories matching `repositories`
// (default all) and none of `excludeRepositories`, whose name matches
// `tag` (default all). Keep rules, any one protecting a candidate:
// `keepTags` (patterns), `keepLatest` (the N most recently pushed
// candidates of each repository), `olderThan` (candidates pushed more
// recently are kept). Every other candidate is removed.

import { JanitorError } from '../errors.js';
import { isRepositoryName, isTagName } from '../storage/repository-names.js';
import { parseDuration } from './duration.js';
import { compileRepositoryGlobs } from './repository-glob.js';
import { type TagPattern, compileCandidatePattern, compileTagPattern } from './tag-pattern.js';

export interface Rule {
  /** where the rule came from, for reasons: "flags" or "policy rule 2". */
  origin: string;
  repositories: string[];
  excludeRepositories: string[];
  tag: TagPattern | undefined;
  keepTags: TagPattern[];
  keepLatest: number | undefined;
  olderThanMs: number | undefined;
  matchRepository: (name: string) => boolean;
  /** keep rules only: protects explicit REPO:TAG candidates, selects nothing itself. */
  protectOnly: boolean;
}

export interface ExplicitTag {
  repository: string;
  tag: string;
}

export interface RuleFields {
  repositories?: string[];
  excludeRepositories?: string[];
  tag?: string;
  keepTags?: string[];
  keepLatest?: number | string;
  olderThan?: string;
}

/** How errors name each field: the flag the user typed, or a policy's rule and field. */
export type FieldNames = Readonly<Record<keyof RuleFields, string>>;

export const FLAG_NAMES: FieldNames = {
  repositories: '--repo',
  excludeRepositories: '--exclude-repo',
  tag: '--tag',
  keepTags: '--keep-tag',
  keepLatest: '--keep-latest',
  olderThan: '--older-than',
};

/** "policy FILE, rule N, field F" for each field. */
export function policyFieldNames(where: string): FieldNames {
  const name = (field: keyof RuleFields): string => `${where}, field ${field}`;
  return {
    repositories: name('repositories'),
    excludeRepositories: name('excludeRepositories'),
    tag: name('tag'),
    keepTags: name('keepTags'),
    keepLatest: name('keepLatest'),
    olderThan: name('olderThan'),
  };
}

export function compileRule(fields: RuleFields, origin: string, names: FieldNames): Rule {
  const repositories = fields.repositories ?? [];
  const excludeRepositories = fields.excludeRepositories ?? [];
  const include = repositories.length > 0 ? compileRepositoryGlobs(repositories, names.repositories) : () => true;
  const exclude = excludeRepositories.length > 0 ? compileRepositoryGlobs(excludeRepositories, names.excludeRepositories) : () => false;
  let keepLatest: number | undefined;
  if (fields.keepLatest !== undefined) {
    const text = String(fields.keepLatest);
    if (!/^\d+$/.test(text)) throw new JanitorError('E_USAGE', `${names.keepLatest}: expected a whole number, not ${JSON.stringify(fields.keepLatest)}`);
    keepLatest = Number(text);
  }
  return {
    origin,
    repositories,
    excludeRepositories,
    tag: fields.tag === undefined ? undefined : compileCandidatePattern(fields.tag, names.tag),
    keepTags: (fields.keepTags ?? []).map((k) => compileTagPattern(k, names.keepTags)),
    keepLatest,
    olderThanMs: fields.olderThan === undefined ? undefined : parseDuration(fields.olderThan, names.olderThan),
    matchRepository: (name) => include(name) && !exclude(name),
    protectOnly: false,
  };
}

/**
 * A rule narrows when it could not select every tag by accident: it names a
 * tag pattern, or keeps the newest N or the last D of every repository with
 * N and D above zero. `--keep-latest 0` and `--older-than 0d` keep nothing,
 * so alone they mean "every tag" (a shell variable that came out 0); next to
 * another narrowing rule they are harmless and accepted.
 */
export function isNarrowing(rule: Rule): boolean {
  return rule.tag !== undefined || (rule.keepLatest ?? 0) > 0 || (rule.olderThanMs ?? 0) > 0;
}

/** The fields of a non-narrowing rule set to zero, by field: why it narrows nothing. */
export function zeroKeepFields(rule: Rule): ('keepLatest' | 'olderThan')[] {
  const out: ('keepLatest' | 'olderThan')[] = [];
  if (rule.olderThanMs === 0) out.push('olderThan');
  if (rule.keepLatest === 0) out.push('keepLatest');
  return out;
}

export function parseExplicitTag(text: string): ExplicitTag {
  const colon = text.lastIndexOf(':');
  const repository = colon > 0 ? text.slice(0, colon) : '';
  const tag = colon > 0 ? text.slice(colon + 1) : '';
  if (!isRepositoryName(repository) || !isTagName(tag)) {
    throw new JanitorError('E_USAGE', `invalid REPO:TAG ${JSON.stringify(text)} (expected e.g. team/app:v1.2)`);
  }
  return { repository, tag };
}
