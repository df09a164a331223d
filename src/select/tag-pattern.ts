// Tag patterns (--tag, --keep-tag, a policy's tag and keepTags) in RE2
// syntax, matched by re2js in time linear in the tag. A JS RegExp
// backtracks: `(a+)+$` or `^([a-z0-9]+-?)+$` against a crafted 40-character
// tag name never returned. RE2 cannot express backreferences or lookaround;
// such a pattern is refused with a usage error. Matching is "find" as with
// RegExp.test: `^build-` matches at the start, `rc` anywhere.

import { RE2JS } from 're2js';
import { JanitorError } from '../errors.js';

export interface TagPattern {
  /** the pattern as the user wrote it, for reasons ("kept by keep-tag ^latest$"). */
  readonly source: string;
  /** true when the pattern matches anywhere in the tag, as RegExp.test. */
  test(tag: string): boolean;
}

/** A clearer word than RE2's for the JS features it lacks. */
function explainUnsupported(source: string): string | undefined {
  if (/\(\?<?[=!]/.test(source)) return 'lookahead and lookbehind ((?=, (?!, (?<=, (?<!) are not supported';
  if (/\\[1-9]|\\k</.test(source)) return 'backreferences (\\1, \\k<name>) are not supported';
  return undefined;
}

export function compileTagPattern(source: string, where: string): TagPattern {
  if (source === '') {
    throw new JanitorError('E_USAGE', `${where}: the pattern is empty (an unset shell variable?) and would match every tag; to mean every tag, spell out '.*'`);
  }
  let pattern: RE2JS;
  try {
    pattern = RE2JS.compile(source);
  } catch (cause) {
    const re2 = cause instanceof Error ? cause.message.replace(/^error parsing regexp: /, '') : String(cause);
    const why = explainUnsupported(source) ?? re2;
    throw new JanitorError(
      'E_USAGE',
      `${where}: invalid regular expression ${JSON.stringify(source)}: ${why} (patterns use RE2 syntax, which matches in linear time)`,
      {
        cause,
      },
    );
  }
  return { source, test: (tag) => pattern.test(tag) };
}

/** The ways to say "every tag" on purpose. */
const EVERY_TAG = new Set(['.*', '^.*', '.*$', '^.*$']);

/**
 * A candidate pattern (--tag, a policy's tag). One that matches the empty
 * string matches every tag, since matching is unanchored: `^`, `$`, `x*`,
 * or `^${PREFIX}` with PREFIX unset. That is "everything by accident"
 * unless spelled as '.*'.
 */
export function compileCandidatePattern(source: string, where: string): TagPattern {
  const pattern = compileTagPattern(source, where);
  if (!EVERY_TAG.has(source) && pattern.test('')) {
    throw new JanitorError(
      'E_USAGE',
      `${where}: ${JSON.stringify(source)} matches the empty string, so it matches every tag (an unset shell variable?); to mean every tag, spell out '.*'`,
    );
  }
  return pattern;
}
