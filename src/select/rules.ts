// Tag selection rules (Portus' garbage_collector and Harbor's retention
// semantics), shared by `tags rm` and `prune`, from flags or a policy file.
//
// A rule's candidates: the tags of repositories matching `repositories`
// (default all) and none of `excludeRepositories`, whose name matches
// `tag` (default all). Keep rules, any one protecting a candidate:
// `keepTags` (regexes), `keepLatest` (the N most recently pushed
// candidates of each repository), `olderThan` (candidates pushed more
// recently are kept). Every other candidate is removed.

import picomatch from 'picomatch';
import { JanitorError } from '../errors.js';
import { isRepositoryName, isTagName } from '../layout.js';
import { parseDuration } from './duration.js';

export interface Rule {
  /** where the rule came from, for errors and reasons: "flags" or "policy rule 2". */
  origin: string;
  repositories: string[];
  excludeRepositories: string[];
  tag: RegExp | undefined;
  keepTags: RegExp[];
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

export function compileRegex(source: string, where: string): RegExp {
  try {
    return new RegExp(source);
  } catch (cause) {
    throw new JanitorError('E_USAGE', `${where}: invalid regular expression ${JSON.stringify(source)}`, { cause });
  }
}

function compileGlobs(globs: string[], where: string): (name: string) => boolean {
  for (const glob of globs) {
    if (glob === '' || glob.startsWith('/') || glob.endsWith('/')) {
      throw new JanitorError('E_USAGE', `${where}: invalid repository glob ${JSON.stringify(glob)}`);
    }
  }
  return picomatch(globs, { dot: false, nobrace: false, noextglob: true });
}

export function compileRule(fields: RuleFields, origin: string): Rule {
  const repositories = fields.repositories ?? [];
  const excludeRepositories = fields.excludeRepositories ?? [];
  const include = repositories.length > 0 ? compileGlobs(repositories, `${origin}, repositories`) : () => true;
  const exclude = excludeRepositories.length > 0 ? compileGlobs(excludeRepositories, `${origin}, excludeRepositories`) : () => false;
  let keepLatest: number | undefined;
  if (fields.keepLatest !== undefined) {
    const text = String(fields.keepLatest);
    if (!/^\d+$/.test(text)) throw new JanitorError('E_USAGE', `${origin}, keepLatest: expected a whole number, not ${JSON.stringify(fields.keepLatest)}`);
    keepLatest = Number(text);
  }
  return {
    origin,
    repositories,
    excludeRepositories,
    tag: fields.tag === undefined ? undefined : compileRegex(fields.tag, `${origin}, tag`),
    keepTags: (fields.keepTags ?? []).map((k) => compileRegex(k, `${origin}, keepTags`)),
    keepLatest,
    olderThanMs: fields.olderThan === undefined ? undefined : parseDuration(fields.olderThan, `${origin}, olderThan`),
    matchRepository: (name) => include(name) && !exclude(name),
    protectOnly: false,
  };
}

/** A rule narrows when it could not select every tag by accident. */
export function isNarrowing(rule: Rule): boolean {
  return rule.tag !== undefined || rule.keepLatest !== undefined || rule.olderThanMs !== undefined;
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
