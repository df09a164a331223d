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
//
// The document is checked against a strict schema (valibot): an unknown key
// anywhere, `__proto__` and `constructor` included (the yaml parser and
// JSON.parse both make `__proto__` an own key), is refused by name, and the
// rule fields are copied into null-prototype objects.

import * as v from 'valibot';
import { parse } from 'yaml';
import { JanitorError, errnoCode } from '../errors.js';
import { type FileSystem, readTextFileSync } from '../storage/file-system.js';
import { type Rule, type RuleFields, compileRule, isNarrowing, policyFieldNames, zeroKeepFields } from './rules.js';

const LIST = 'expected a list of strings';
const STRING = 'expected a string';
const COUNT = 'expected a whole number';
const RULES = 'expected a top-level "rules:" list with at least one rule';

const strings = () => v.array(v.string(LIST), LIST);

const RULE_SCHEMA = v.strictObject({
  repositories: v.optional(v.pipe(strings(), v.minLength(1, 'an empty list matches no repository (leave the field out to mean every repository)'))),
  excludeRepositories: v.optional(strings()),
  tag: v.optional(v.string(STRING)),
  keepTags: v.optional(strings()),
  keepLatest: v.optional(v.pipe(v.number(COUNT), v.integer(COUNT), v.minValue(0, COUNT))),
  olderThan: v.optional(v.string(STRING)),
});

const POLICY_SCHEMA = v.strictObject({ rules: v.pipe(v.array(RULE_SCHEMA, RULES), v.minLength(1, RULES)) }, RULES);

const RULE_FIELDS = Object.keys(RULE_SCHEMA.entries) as (keyof RuleFields)[];

function bad(file: string, where: string, why: string): never {
  throw new JanitorError('E_USAGE', `policy ${file}${where ? `, ${where}` : ''}: ${why}`, { path: file });
}

/** A key as the user wrote it; quoted when it holds anything unusual. */
function showKey(key: unknown): string {
  return typeof key === 'string' && /^[\w.$-]+$/.test(key) ? key : JSON.stringify(String(key));
}

/** The first schema issue as "policy FILE, rule N, field F: why". */
function reportIssue(file: string, issue: v.InferIssue<typeof POLICY_SCHEMA>): never {
  const path = (issue.path ?? []).map((item) => item.key);
  const unknownKey = issue.type === 'strict_object' && issue.expected === 'never';
  if (path.length === 0 || (path.length === 1 && !unknownKey)) bad(file, '', RULES);
  if (path.length === 1) bad(file, '', `unknown top-level field ${JSON.stringify(String(path[0]))}`);
  const rule = `rule ${Number(path[1]) + 1}`;
  if (path.length === 2) bad(file, rule, 'expected a mapping of fields');
  if (unknownKey) bad(file, `${rule}, field ${showKey(path[2])}`, `unknown field (known: ${RULE_FIELDS.join(', ')})`);
  bad(file, `${rule}, field ${showKey(path[2])}`, issue.message);
}

export function parsePolicy(text: string, file: string): Rule[] {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (cause) {
    bad(file, '', `not valid YAML or JSON (${cause instanceof Error ? cause.message.split('\n')[0] : String(cause)})`);
  }
  const checked = v.safeParse(POLICY_SCHEMA, doc);
  if (!checked.success) reportIssue(file, checked.issues[0]);
  return checked.output.rules.map((raw, i) => {
    const where = `rule ${i + 1}`;
    const fields = Object.create(null) as RuleFields;
    for (const name of RULE_FIELDS) {
      const value = raw[name];
      if (value !== undefined) Object.defineProperty(fields, name, { value: Array.isArray(value) ? [...value] : value, enumerable: true });
    }
    const rule = compileRule(fields, `policy ${where}`, policyFieldNames(`policy ${file}, ${where}`));
    if (!isNarrowing(rule)) {
      const zero = zeroKeepFields(rule)[0];
      if (zero) {
        bad(
          file,
          `${where}, field ${zero}`,
          `${String(fields[zero])} keeps no tag, so the rule narrows nothing and would remove every tag of its repositories; give tag, or keepLatest or olderThan above zero (to remove every tag, spell out tag: ".*")`,
        );
      }
      bad(file, where, 'needs tag, keepLatest or olderThan (to remove every tag, spell out tag: ".*")');
    }
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
