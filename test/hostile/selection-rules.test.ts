// Hostile input to tag selection (adversarial review, issue 7, sections 3,
// 4 and 9), the rules and the arguments: retention values that select
// everything, policy keys that reach the prototype, a directory where a
// file is expected, and empty arguments from unset shell variables. Each
// case exits 2 (or 1 for the registry config) and deletes nothing.
// Patterns, globs, FIFOs and sockets: selection-matching.test.ts.
import { describe, expect, it } from 'vitest';
import { rootFromConfigFile } from '../../src/storage/registry-config.js';
import { ROOT, memTree } from '../support/memfs-tree.js';
import { runCliOn } from '../support/run-cli.js';
import { cli, expectRefused, removed, tree } from '../support/selection-tree.js';

describe('1. a retention rule that keeps nothing is no rule', () => {
  for (const zero of ['0s', '0m', '0h', '0d', '0w', '00d']) {
    it(`--older-than ${zero} alone is refused, saying how to mean every tag`, async () => {
      await expectRefused(['--root', ROOT, '--older-than', zero], 2, new RegExp(`--older-than ${zero} keeps no tag.*spell out --tag '\\.\\*'`));
    });
  }

  it('--keep-latest 0 alone, or with --older-than 0d, is refused', async () => {
    await expectRefused(['--root', ROOT, '--keep-latest', '0'], 2, /--keep-latest 0 keeps no tag.*spell out --tag '\.\*'/);
    await expectRefused(
      ['--root', ROOT, '--keep-latest', '0', '--older-than', '0d', '--repo', 'team/**'],
      2,
      /--older-than 0d and --keep-latest 0 keep no tag/,
    );
    await expectRefused(['--root', ROOT, '--keep-latest', '0', '--keep-tag', '^latest$'], 2, /--keep-latest 0 keeps no tag/);
  });

  it('next to another narrowing rule a zero is harmless: it keeps nothing more', async () => {
    const tagged = await cli(tree().fs, ['tags', 'rm', '-d', '--root', ROOT, '--tag', '^build-', '--older-than', '0d', '--json']);
    expect(removed(tagged.json)).toEqual(['team/app:build-9']);
    const aged = await cli(tree().fs, ['tags', 'rm', '-d', '--root', ROOT, '--older-than', '50d', '--keep-latest', '0', '--json']);
    expect(removed(aged.json)).toEqual(['lib/base:v1', 'team/app:v1', 'team/app:v1.2.3']);
  });

  it('--tag .* still means every tag, as the README tells', async () => {
    const run = await cli(tree().fs, ['tags', 'rm', '-d', '--root', ROOT, '--repo', 'lib/base', '--tag', '.*', '--json']);
    expect(removed(run.json)).toEqual(['lib/base:v1']);
  });

  const policies: [string, string, RegExp][] = [
    ['olderThan: 0d alone', 'rules:\n  - olderThan: 0d\n', /policy \/p.yml, rule 1, field olderThan: 0d keeps no tag.*spell out tag: "\.\*"/],
    ['keepLatest: 0 alone', 'rules:\n  - tag: x\n  - keepLatest: 0\n    keepTags: ["^latest$"]\n', /policy \/p.yml, rule 2, field keepLatest: 0 keeps no tag/],
    ['JSON, both zero', '{"rules": [{"olderThan": "0w", "keepLatest": 0}]}', /policy \/p.yml, rule 1, field olderThan: 0w keeps no tag/],
  ];
  for (const [label, text, message] of policies) {
    it(`a policy rule with ${label} is refused`, async () => {
      await expectRefused(['--root', ROOT, '--policy', '/p.yml'], 2, message, (fs) => fs.writeFileSync('/p.yml', text));
    });
  }

  it('a policy zero next to a narrowing field is accepted', async () => {
    const mem = tree();
    mem.fs.writeFileSync('/p.yml', 'rules:\n  - tag: "^ci-"\n    olderThan: 0d\n    keepLatest: 0\n');
    const run = await cli(mem.fs, ['tags', 'rm', '-d', '--root', ROOT, '--policy', '/p.yml', '--json']);
    expect(removed(run.json)).toEqual(['team/app:ci-7']);
  });
});

describe('2. policy files are checked against a strict schema', () => {
  // Taken as data, `__proto__: { olderThan: 0d }` became the prototype of
  // the rule's fields: the rule inherited olderThan 0d and removed every tag
  // of lib/base.
  const keys = ['__proto__', 'constructor', 'prototype', 'keepNewest'];
  for (const key of keys) {
    const yamlRule = `rules:\n  - repositories: ["lib/*"]\n    ${key}: { olderThan: 0d }\n`;
    const yamlTop = `${key}: { tag: ".*" }\nrules:\n  - tag: "^nothing-matches$"\n`;
    const jsonRule = `{"rules": [{"repositories": ["lib/*"], ${JSON.stringify(key)}: {"olderThan": "0d"}}]}`;
    const jsonTop = `{${JSON.stringify(key)}: {"tag": ".*"}, "rules": [{"tag": "^nothing-matches$"}]}`;
    const inRule = new RegExp(
      `^registry-janitor: error: policy /p.yml, rule 1, field ${key}: unknown field \\(known: repositories, excludeRepositories, tag, keepTags, keepLatest, olderThan\\)$`,
    );
    const atTop = new RegExp(`^registry-janitor: error: policy /p.yml: unknown top-level field "${key}"$`);
    for (const [label, text, message] of [
      ['YAML, in a rule', yamlRule, inRule],
      ['YAML, top level', yamlTop, atTop],
      ['JSON, in a rule', jsonRule, inRule],
      ['JSON, top level', jsonTop, atTop],
    ] as const) {
      it(`${key} (${label}) is a usage error naming the key`, async () => {
        await expectRefused(['--root', ROOT, '--policy', '/p.yml'], 2, message, (fs) => fs.writeFileSync('/p.yml', text));
      });
    }
  }

  it('the existing message shapes stay: rule, field, why', async () => {
    const cases: [string, RegExp][] = [
      ['rules:\n  - tag: 3\n', /policy \/p.yml, rule 1, field tag: expected a string$/],
      ['rules:\n  - tag: x\n    keepTags: [1]\n', /policy \/p.yml, rule 1, field keepTags: expected a list of strings$/],
      ['rules:\n  - tag: x\n    keepLatest: -1\n', /policy \/p.yml, rule 1, field keepLatest: expected a whole number$/],
      ['rules:\n  - tag: x\n    keepLatest: 1.5\n', /policy \/p.yml, rule 1, field keepLatest: expected a whole number$/],
      ['rules:\n  - tag: x\n  - 7\n', /policy \/p.yml, rule 2: expected a mapping of fields$/],
      ['rules:\n  - tag: x\n    repositories: []\n', /policy \/p.yml, rule 1, field repositories: an empty list matches no repository/],
      ['rules:\n  - tag: x\n    repositories: ["team/(x)"]\n', /policy \/p.yml, rule 1, field repositories: invalid repository glob "team\/\(x\)"/],
      ['rules: []\n', /policy \/p.yml: expected a top-level "rules:" list with at least one rule$/],
      ['[1, 2]\n', /policy \/p.yml: expected a top-level "rules:" list/],
      ['', /policy \/p.yml: expected a top-level "rules:" list/],
    ];
    for (const [text, message] of cases) {
      await expectRefused(['--root', ROOT, '--policy', '/p.yml'], 2, message, (fs) => fs.writeFileSync('/p.yml', text));
    }
  });
});

describe('5. a config or policy that is not a regular file is refused before it is read', () => {
  it('a directory (memfs): exit 2 for --policy, exit 1 for --config', async () => {
    await expectRefused(
      ['--root', ROOT, '--policy', '/etc'],
      2,
      /^registry-janitor: error: cannot read policy \/etc: it is a directory, not a regular file$/,
      (fs) => fs.mkdirSync('/etc', { recursive: true }),
    );
    const mem = tree();
    mem.fs.mkdirSync('/etc/registry', { recursive: true });
    const run = await cli(mem.fs, ['gc', '-d', '--config', '/etc/registry']);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('registry-janitor: error: cannot read registry config /etc/registry: it is a directory, not a regular file\n');
    let thrown: unknown;
    try {
      rootFromConfigFile(mem.fs, '/etc/registry', {});
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: 'E_CONFIG', path: '/etc/registry' });
  });
});

describe('6. empty arguments and the names in messages', () => {
  it('--root "", --config "", --policy "" and garbage-collect "" are usage errors, not the current directory', async () => {
    await expectRefused(['--root', '', '--tag', 'x'], 2, /^registry-janitor: error: --root is empty \(an unset shell variable\?\)/);
    await expectRefused(['--config', '', '--tag', 'x'], 2, /^registry-janitor: error: --config is empty/);
    await expectRefused(['--root', ROOT, '--policy', ''], 2, /^registry-janitor: error: --policy is empty/);
    for (const args of [
      ['gc', '--root', ''],
      ['gc', '--config', ''],
      ['ls', '--root', ''],
      ['garbage-collect', ''],
    ]) {
      const run = await cli(tree().fs, args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(/is empty \(an unset shell variable\?\)/);
    }
  });

  const named: [string[], RegExp][] = [
    [['--older-than', '30days'], /^registry-janitor: error: --older-than: invalid duration "30days"/],
    [['--keep-latest', 'five'], /^registry-janitor: error: --keep-latest: expected a whole number, not "five"/],
    [['--tag', '(build'], /^registry-janitor: error: --tag: invalid regular expression "\(build"/],
    [['--tag', 'x', '--keep-tag', '['], /^registry-janitor: error: --keep-tag: invalid regular expression "\["/],
    [['--tag', 'x', '--repo', 'a b'], /^registry-janitor: error: --repo: invalid repository glob "a b"/],
    [['--tag', 'x', '--exclude-repo', '/x'], /^registry-janitor: error: --exclude-repo: invalid repository glob "\/x"/],
  ];
  for (const [args, message] of named) {
    it(`errors name the flag typed: ${args.join(' ')}`, async () => {
      await expectRefused(['--root', ROOT, ...args], 2, message);
    });
  }

  it('a tag removed by --keep-latest alone says why', async () => {
    const run = await cli(tree().fs, ['tags', 'rm', '-d', '--root', ROOT, '--repo', 'team/app', '--keep-latest', '3', '--json']);
    expect(removed(run.json)).toEqual(['team/app:v1', 'team/app:v1.2.3']);
    for (const t of run.json.tagsRemoved) expect(t.reason).toBe('flags: not one of the 3 most recently pushed');
  });
});

describe('a candidate pattern that matches the empty string matches every tag', () => {
  it('is refused (an unset variable in "^${PREFIX}"), unless spelled as .*', async () => {
    const mem = memTree();
    mem.tree.tag('app', 'v1', mem.tree.pushImage('app', { layers: ['a'] }).digest);
    for (const tag of ['^', '$', 'x*', '(|a)', '^(?:)']) {
      const { code, stderr } = await runCliOn(mem.fs, ['tags', 'rm', '--tag', tag, '--root', ROOT]);
      expect(code, tag).toBe(2);
      expect(stderr).toMatch(/matches the empty string, so it matches every tag .*spell out '\.\*'/);
    }
    mem.fs.writeFileSync('/p.yml', 'rules:\n  - tag: "^"\n');
    expect((await runCliOn(mem.fs, ['prune', '--policy', '/p.yml', '--root', ROOT])).code).toBe(2);
    const { code } = await runCliOn(mem.fs, ['tags', 'rm', '-d', '--tag', '.*', '--root', ROOT]);
    expect(code).toBe(0);
  });
});
