// Repository globs (--repo, --exclude-repo, --skip-repo, a policy's
// repositories and excludeRepositories, the arguments of ls), compiled to
// one RE2 pattern each so a match takes time linear in the name. picomatch
// compiled `*a*a*...a` to a backtracking JS RegExp that ran for minutes
// against a 255-character name.
//
//   *       any characters within one path component
//   **      as a whole component: any number of components, none included
//           (team/** matches team, team/a and team/a/b; ** matches every
//           name; a/**/b matches a/b and a/x/y/b); inside a component
//           (a**) the same as *
//   ?       one character other than /
//   {a,b}   either alternative (nested too; an alternative may hold /)
//
// Everything else is literal. A character no repository name can hold
// ([ ] ! ( ) + @ \ space...) is refused rather than left to match
// nothing: an --exclude-repo that silently matched nothing would widen a
// removal.

import { RE2JS } from 're2js';
import { JanitorError } from '../errors.js';

/**
 * The characters of a repository name (layout.ts: [a-z0-9] components
 * joined by . _ - and /; the first component may be a domain in either
 * case, as `Example.COM/team/app`).
 */
const NAME_CHARACTER = /^[A-Za-z0-9._/-]$/;

/** A run of stars from `at`, and where it ends. */
function starsAt(glob: string, at: number): number {
  let end = at;
  while (glob[end] === '*') end += 1;
  return end;
}

/** Translates one glob into an RE2 pattern matched against the whole name. */
export function translateRepositoryGlob(glob: string, where: string): string {
  const refuse = (why: string): never => {
    throw new JanitorError('E_USAGE', `${where}: invalid repository glob ${JSON.stringify(glob)}: ${why}`);
  };
  if (glob === '') refuse('it is empty (an unset shell variable?); to mean every repository, spell out "**"');
  if (glob.startsWith('/') || glob.endsWith('/')) refuse('a repository name neither starts nor ends with "/"');
  let depth = 0;
  // A component starts at the glob's start, after "/", and at the start of a
  // brace alternative; it ends at the glob's end, before "/", and at the end
  // of a brace alternative.
  const startsComponent = (i: number): boolean => i === 0 || glob[i - 1] === '/' || (depth > 0 && (glob[i - 1] === '{' || glob[i - 1] === ','));
  const endsComponent = (i: number): boolean => i === glob.length || glob[i] === '/' || (depth > 0 && (glob[i] === ',' || glob[i] === '}'));
  const isGlobstar = (from: number, to: number): boolean => to - from >= 2 && startsComponent(from) && endsComponent(to);
  let out = '';
  let i = 0;
  while (i < glob.length) {
    const ch = glob.charAt(i);
    if (ch === '*') {
      const end = starsAt(glob, i);
      if (!isGlobstar(i, end)) out += '[^/]*';
      else if (glob[end] === '/') {
        out += '(?:[^/]+/)*'; // "**/": zero or more whole components, with their slash
        i = end + 1;
        continue;
      } else out += '.*';
      i = end;
    } else if (ch === '/') {
      const end = starsAt(glob, i + 1);
      if (isGlobstar(i + 1, end) && glob[end] !== '/') {
        out += '(?:/.*)?'; // a trailing "/**" also matches the name before it: team/** matches team
        i = end;
      } else {
        out += '/';
        i += 1;
      }
    } else if (ch === '?') {
      out += '[^/]';
      i += 1;
    } else if (ch === '{') {
      depth += 1;
      out += '(?:';
      i += 1;
    } else if (ch === ',' && depth > 0) {
      out += '|';
      i += 1;
    } else if (ch === '}' && depth > 0) {
      depth -= 1;
      out += ')';
      i += 1;
    } else if (ch === '}') {
      refuse('"}" without its "{"');
    } else if (NAME_CHARACTER.test(ch)) {
      out += ch === '.' ? '\\.' : ch;
      i += 1;
    } else {
      refuse(
        `${JSON.stringify(ch)} cannot appear in a repository name (a-z, A-Z in a domain-like first component, 0-9, ".", "_", "-" and "/"), and globs only add *, **, ? and {a,b}`,
      );
    }
  }
  if (depth > 0) refuse('"{" without its "}"');
  return out;
}

/**
 * Compiles repository globs into one predicate: true when the name matches
 * any of them (none: matches nothing). `where` names the flag or policy
 * field for errors.
 */
export function compileRepositoryGlobs(globs: readonly string[], where: string): (name: string) => boolean {
  const patterns = globs.map((glob) => RE2JS.compile(translateRepositoryGlob(glob, where), RE2JS.DOTALL));
  return (name) => patterns.some((pattern) => pattern.testExact(name));
}
