// gc-checks.ts findOutcome / replaceOutcome: a binary search over the outcomes
// sorted by name, with a linear fallback, so an unsorted list is answered right too.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findOutcome, replaceOutcome } from '../../src/commands/gc/gc-checks.js';
import type { RepoOutcome } from '../../src/commands/gc/mark-repository.js';

const outcome = (name: string, tags = 0): RepoOutcome => ({ name, tags }) as RepoOutcome;
const names = fc.uniqueArray(fc.stringMatching(/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+)*$/), { maxLength: 40 });

describe('the outcome of a repository, looked up by name', () => {
  it('finds every name in a sorted list, in an unsorted one, and nothing else', () => {
    fc.assert(
      fc.property(names, fc.string(), fc.boolean(), (list, missing, sorted) => {
        const ordered = sorted ? [...list].sort() : list;
        const outcomes = ordered.map((name) => outcome(name));
        for (const name of list) expect(findOutcome(outcomes, name)?.name).toBe(name);
        if (!list.includes(missing)) expect(findOutcome(outcomes, missing)).toBeUndefined();
      }),
    );
  });

  it('replaces in place, never duplicating, and appends a name it lacks', () => {
    fc.assert(
      fc.property(names, fc.string({ minLength: 1 }), (list, extra) => {
        const outcomes = [...list].sort().map((name) => outcome(name));
        for (const name of list) replaceOutcome(outcomes, outcome(name, 7));
        expect(outcomes.map((o) => o.name)).toEqual([...list].sort());
        expect(outcomes.every((o) => o.tags === 7)).toBe(true);
        if (!list.includes(extra)) {
          replaceOutcome(outcomes, outcome(extra, 1));
          expect(outcomes.filter((o) => o.name === extra)).toHaveLength(1);
          expect(outcomes).toHaveLength(list.length + 1);
        }
      }),
    );
  });
});
