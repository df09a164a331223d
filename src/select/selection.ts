// Building the tag selection of `tags rm` and `prune` from the command line:
// REPO:TAG arguments, rule flags, or a policy file. Refuses a selection
// that could remove everything by accident.

import { JanitorError } from '../errors.js';
import type { FileSystem } from '../storage/file-system.js';
import { readPolicy } from './policy.js';
import { FLAG_NAMES, type Rule, compileRule, isNarrowing, parseExplicitTag, zeroKeepFields } from './rules.js';
import { TagSelector } from './select-tags.js';

export interface SelectionFlags {
  repo?: string[];
  excludeRepo?: string[];
  tag?: string;
  keepTag?: string[];
  keepLatest?: string;
  olderThan?: string;
  policy?: string;
}

export function buildSelector(fs: FileSystem, args: readonly string[], flags: SelectionFlags, nowMs: number): TagSelector {
  const explicit = args.map(parseExplicitTag);
  const ruleFlags = [flags.repo?.length, flags.excludeRepo?.length, flags.tag, flags.keepTag?.length, flags.keepLatest, flags.olderThan].some(
    (v) => v !== undefined && v !== 0,
  );
  if (flags.policy !== undefined) {
    if (flags.policy === '') throw new JanitorError('E_USAGE', '--policy is empty (an unset shell variable?): give the policy file');
    if (ruleFlags || explicit.length > 0) {
      throw new JanitorError('E_USAGE', '--policy cannot be combined with REPO:TAG arguments or selection flags');
    }
    return new TagSelector(readPolicy(fs, flags.policy), [], nowMs);
  }
  const rule = compileRule(
    {
      repositories: flags.repo ?? [],
      excludeRepositories: flags.excludeRepo ?? [],
      ...(flags.tag !== undefined ? { tag: flags.tag } : {}),
      keepTags: flags.keepTag ?? [],
      ...(flags.keepLatest !== undefined ? { keepLatest: flags.keepLatest } : {}),
      ...(flags.olderThan !== undefined ? { olderThan: flags.olderThan } : {}),
    },
    'flags',
    FLAG_NAMES,
  );
  const rules: Rule[] = [];
  // With REPO:TAG arguments the flags protect them (in whatever repository
  // they are) and select nothing more unless --tag says what: so
  // `tags rm app:v1 --keep-latest 3` removes app:v1 unless it is among the
  // 3 newest tags of app, and touches no other tag.
  if (explicit.length > 0) {
    rules.push({ ...rule, protectOnly: true, matchRepository: () => true });
    if (rule.tag !== undefined) rules.push(rule);
  } else if (isNarrowing(rule)) {
    rules.push(rule);
  } else {
    const zeros = zeroKeepFields(rule).map((field) => `${FLAG_NAMES[field]} ${field === 'olderThan' ? flags.olderThan : flags.keepLatest}`);
    if (zeros.length > 0) {
      throw new JanitorError(
        'E_USAGE',
        `${zeros.join(' and ')} ${zeros.length > 1 ? 'keep' : 'keeps'} no tag, so it narrows nothing: every tag of every repository in scope would be removed; give --tag, an --older-than or --keep-latest above zero, REPO:TAG arguments or --policy (to remove every tag of a repository, spell out --tag '.*')`,
      );
    }
    throw new JanitorError(
      'E_USAGE',
      "nothing selected: give REPO:TAG arguments, --tag, --older-than, --keep-latest or --policy (to remove every tag of a repository, spell out --tag '.*')",
    );
  }
  return new TagSelector(rules, explicit, nowMs);
}
