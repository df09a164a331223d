// Policy files (YAML or JSON): several selection rules at once, so a
// nightly cron job is one line. Every error names the rule and the field.
//
//   rules:
//     - repositories: ["team/**"]        # globs; default every repository
//       excludeRepositories: ["team/base"]
//       tag: "^(build|pr)-"               # candidates; default every tag
//       keepTags: ["^latest$"]
//       keepLatest: 5
//       olderThan: 30d

import { parse } from 'yaml';
import { JanitorError, errnoCode } from '../errors.js';
import { type FileSystem, readTextFileSync } from '../io/file-system.js';
import { type Rule, type RuleFields, compileRule, isNarrowing } from './rules.js';

const FIELDS: Record<keyof RuleFields, 'strings' | 'string' | 'count'> = {
  repositories: 'strings',
  excludeRepositories: 'strings',
  tag: 'string',
  keepTags: 'strings',
  keepLatest: 'count',
  olderThan: 'string',
};

function bad(file: string, where: string, why: string): never {
  throw new JanitorError('E_USAGE', `policy ${file}${where ? `, ${where}` : ''}: ${why}`, { path: file });
}

export function parsePolicy(text: string, file: string): Rule[] {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (cause) {
    bad(file, '', `not valid YAML or JSON (${cause instanceof Error ? cause.message.split('\n')[0] : String(cause)})`);
  }
  const rules = typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? (doc as { rules?: unknown }).rules : undefined;
  if (!Array.isArray(rules) || rules.length === 0) bad(file, '', 'expected a top-level "rules:" list with at least one rule');
  for (const key of Object.keys(doc as object)) if (key !== 'rules') bad(file, '', `unknown top-level field "${key}"`);
  return rules.map((raw: unknown, i: number) => {
    const where = `rule ${i + 1}`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad(file, where, 'expected a mapping of fields');
    const fields: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(raw)) {
      const kind = FIELDS[key as keyof RuleFields];
      if (!kind) bad(file, `${where}, field ${key}`, `unknown field (known: ${Object.keys(FIELDS).join(', ')})`);
      if (kind === 'strings' && !(Array.isArray(value) && value.every((v) => typeof v === 'string'))) {
        bad(file, `${where}, field ${key}`, 'expected a list of strings');
      }
      if (kind === 'string' && typeof value !== 'string') bad(file, `${where}, field ${key}`, 'expected a string');
      if (kind === 'count' && !(Number.isInteger(value) && (value as number) >= 0)) bad(file, `${where}, field ${key}`, 'expected a whole number');
      fields[key] = value;
    }
    let rule: Rule;
    try {
      rule = compileRule(fields as RuleFields, `policy ${where}`);
    } catch (error) {
      if (error instanceof JanitorError) bad(file, '', error.message.replace(/^policy /, ''));
      throw error;
    }
    if (!isNarrowing(rule)) bad(file, where, 'needs tag, keepLatest or olderThan (to remove every tag, spell out tag: ".*")');
    return rule;
  });
}

export function readPolicy(fs: FileSystem, file: string): Rule[] {
  let text: string;
  try {
    text = readTextFileSync(fs, file);
  } catch (cause) {
    const why = cause instanceof JanitorError ? cause.message : `${file}: ${errnoCode(cause) ?? String(cause)}`;
    throw new JanitorError('E_USAGE', `cannot read policy ${why}`, { path: file, cause });
  }
  return parsePolicy(text, file);
}
