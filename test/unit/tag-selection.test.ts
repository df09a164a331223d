// Tag selection on memfs with controlled push times (mtime of current/link).
import { describe, expect, it } from 'vitest';
import type { WritableFileSystem } from '../support/tree-builder.js';
import { runCliOn } from '../support/run-cli.js';
import { removed } from '../support/selection-tree.js';
import { ROOT, memTree } from '../support/memfs-tree.js';

const NOW = Date.UTC(2026, 10, 23, 12);
const DAY = 86_400_000;

/** team/app (nested: team/app/web too) and lib/base, tags pushed `age` days ago. */
function tree() {
  const mem = memTree();
  const { tree: t } = mem;
  const push = (repo: string, tag: string, ageDays: number, layer = `${repo}-${tag}`) => {
    const d = t.pushImage(repo, { layers: ['shared-base', layer] });
    t.tag(repo, tag, d.digest, NOW - ageDays * DAY);
    return d;
  };
  const v1 = push('team/app', 'v1', 90);
  t.tag('team/app', 'stable', v1.digest, NOW - 80 * DAY); // sibling of v1
  push('team/app', 'v2', 40);
  push('team/app', 'build-9', 35);
  push('team/app', 'build-10', 35); // same push time as build-9
  push('team/app', 'latest', 1);
  push('team/app/web', 'v1', 60);
  push('team/app/web', 'v2', 5);
  push('lib/base', 'v1', 100);
  return mem;
}

const cli = (fs: WritableFileSystem, args: string[]) => runCliOn(fs, args, { now: NOW });

function tagsOnDisk(mem: ReturnType<typeof tree>): string[] {
  const out: string[] = [];
  for (const repo of ['team/app', 'team/app/web', 'lib/base']) {
    for (const e of mem.fs.readdirSync(mem.tree.pathOf({ kind: 'tagsRoot', name: repo }), { withFileTypes: true })) out.push(`${repo}:${e.name}`);
  }
  return out.sort();
}

describe('tags rm selection', () => {
  it('explicit REPO:TAG removes that tag directory only; its sibling on the same digest stays', async () => {
    const mem = tree();
    const run = await cli(mem.fs, ['tags', 'rm', '--root', ROOT, 'team/app:v1', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(removed(run.json)).toEqual(['team/app:v1']);
    expect(tagsOnDisk(mem)).not.toContain('team/app:v1');
    expect(tagsOnDisk(mem)).toContain('team/app:stable');
    expect(mem.files().filter((f) => f.includes('/revisions/'))).toHaveLength(8);
  });

  it('--older-than alone removes what is older, across repositories', async () => {
    const run = await cli(tree().fs, ['tags', 'rm', '-d', '--root', ROOT, '--older-than', '50d', '--json']);
    expect(removed(run.json)).toEqual(['lib/base:v1', 'team/app/web:v1', 'team/app:stable', 'team/app:v1']);
  });

  it('--tag regex alone', async () => {
    const run = await cli(tree().fs, ['tags', 'rm', '-d', '--root', ROOT, '--tag', '^build-', '--json']);
    expect(removed(run.json)).toEqual(['team/app:build-10', 'team/app:build-9']);
  });

  it('--keep-latest alone keeps the N newest per repository; equal push times rank by natural name order', async () => {
    const run = await cli(tree().fs, ['tags', 'rm', '-d', '--root', ROOT, '--repo', 'team/app', '--keep-latest', '3', '--json']);
    // newest: latest (1d), then build-10 and build-9 (35d, tie: build-10 counts as newer), then v2 (40d)
    expect(removed(run.json)).toEqual(['team/app:stable', 'team/app:v1', 'team/app:v2']);
    const kept = run.json.tagsKept.map((t: { tag: string }) => t.tag).sort();
    expect(kept).toEqual(['build-10', 'build-9', 'latest']);
    const two = await cli(tree().fs, ['tags', 'rm', '-d', '--root', ROOT, '--repo', 'team/app', '--keep-latest', '2', '--json']);
    expect(removed(two.json)).toContain('team/app:build-9');
    expect(removed(two.json)).not.toContain('team/app:build-10');
  });

  it('combined: older than 30 days except the 2 newest of each repository and latest', async () => {
    const run = await cli(tree().fs, ['tags', 'rm', '-d', '--root', ROOT, '--older-than', '30d', '--keep-latest', '2', '--keep-tag', '^latest$', '--json']);
    expect(removed(run.json)).toEqual(['team/app:build-9', 'team/app:stable', 'team/app:v1', 'team/app:v2']);
    const reasons = Object.fromEntries(
      run.json.tagsKept.map((t: { repository: string; tag: string; reason: string }) => [`${t.repository}:${t.tag}`, t.reason]),
    );
    expect(reasons['team/app:latest']).toMatch(/keep-tag \^latest\$/);
    expect(reasons['team/app:build-10']).toMatch(/2 most recently pushed/);
    expect(reasons['lib/base:v1']).toMatch(/2 most recently pushed/);
  });

  it('repository globs: * stays within a component, ** crosses them, --exclude-repo wins', async () => {
    const one = await cli(tree().fs, ['tags', 'rm', '-d', '--root', ROOT, '--repo', 'team/*', '--tag', '^v1$', '--json']);
    expect(removed(one.json)).toEqual(['team/app:v1']);
    const deep = await cli(tree().fs, ['tags', 'rm', '-d', '--root', ROOT, '--repo', 'team/**', '--tag', '^v1$', '--json']);
    expect(removed(deep.json)).toEqual(['team/app/web:v1', 'team/app:v1']);
    const excluded = await cli(tree().fs, [
      'tags',
      'rm',
      '-d',
      '--root',
      ROOT,
      '--repo',
      'team/**',
      '--exclude-repo',
      'team/app/web',
      '--tag',
      '^v1$',
      '--json',
    ]);
    expect(removed(excluded.json)).toEqual(['team/app:v1']);
  });

  it('a policy file applies several scoped rules, each on its own', async () => {
    const mem = tree();
    mem.fs.writeFileSync(
      '/policy.yml',
      [
        'rules:',
        '  - repositories: ["team/**"]',
        '    tag: "^build-"',
        '  - olderThan: 50d',
        '    keepTags: ["^stable$"]',
        '  - repositories: ["lib/*"]',
        '    keepLatest: 1',
      ].join('\n'),
    );
    const run = await cli(mem.fs, ['tags', 'rm', '-d', '--root', ROOT, '--policy', '/policy.yml', '--json']);
    // Rule 1 removes build-* although rule 2 would keep them as too new;
    // rule 2 removes lib/base:v1 although rule 3 keeps it as its newest;
    // stable is kept by rule 2's keepTags and removed by no rule.
    expect(removed(run.json)).toEqual(['lib/base:v1', 'team/app/web:v1', 'team/app:build-10', 'team/app:build-9', 'team/app:v1']);
    expect(run.json.tagsKept.find((t: { tag: string }) => t.tag === 'stable').reason).toMatch(/policy rule 2: kept by keep-tag/);
  });

  it('REPO:TAG with --keep-latest: removed unless among the newest of its repository, and no other tag is touched', async () => {
    const old = await cli(tree().fs, ['tags', 'rm', '-d', '--root', ROOT, 'team/app:v1', '--keep-latest', '3', '--json']);
    expect(removed(old.json)).toEqual(['team/app:v1']);
    const recent = await cli(tree().fs, ['tags', 'rm', '-d', '--root', ROOT, 'team/app:latest', '--keep-latest', '3', '--json']);
    expect(removed(recent.json)).toEqual([]);
    expect(recent.json.tagsKept).toMatchObject([{ tag: 'latest', reason: 'flags: one of the 3 most recently pushed' }]);
  });

  it('REPO:TAG outside the --repo globs is still protected by the keep flags', async () => {
    const run = await cli(tree().fs, ['tags', 'rm', '-d', '--root', ROOT, 'lib/base:v1', '--repo', 'team/**', '--keep-tag', '^v1$', '--json']);
    expect(removed(run.json)).toEqual([]);
  });

  it('REPO:TAG with --tag selects both', async () => {
    const run = await cli(tree().fs, ['tags', 'rm', '-d', '--root', ROOT, 'lib/base:v1', '--tag', '^build-', '--json']);
    expect(removed(run.json)).toEqual(['lib/base:v1', 'team/app:build-10', 'team/app:build-9']);
  });

  it('the keep flags protect explicit REPO:TAGs too', async () => {
    const run = await cli(tree().fs, ['tags', 'rm', '-d', '--root', ROOT, 'team/app:v1', 'team/app:v2', '--keep-tag', '^v1$', '--json']);
    expect(removed(run.json)).toEqual(['team/app:v2']);
    expect(run.json.tagsKept[0]).toMatchObject({ tag: 'v1', reason: 'flags: kept by keep-tag ^v1$' });
  });

  it('removing every tag of a repository is allowed and said loudly', async () => {
    const run = await cli(tree().fs, ['tags', 'rm', '-d', '--root', ROOT, '--repo', 'lib/base', '--tag', '.*']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/ALL 1 tags of lib\/base are removed/);
  });
});

describe('refused selections delete nothing', () => {
  const cases: [string, string[], number, RegExp][] = [
    ['no narrowing rule', ['--repo', 'team/**'], 2, /nothing selected.*--tag '\.\*'/],
    ['an invalid regex', ['--tag', '(build'], 2, /^registry-janitor: error: --tag: invalid regular expression "\(build"/],
    ['an invalid duration', ['--older-than', '30days'], 2, /invalid duration "30days"/],
    ['an invalid keep-latest', ['--keep-latest', 'five', '--tag', 'x'], 2, /^registry-janitor: error: --keep-latest: expected a whole number/],
    ['invalid tag syntax', ['team/app:-bad'], 2, /invalid REPO:TAG "team\/app:-bad"/],
    ['a tag that does not exist', ['team/app:v9'], 1, /tag team\/app:v9 does not exist/],
    ['a repository that does not exist', ['team/nope:v1'], 1, /repository team\/nope does not exist/],
    ['a policy with other flags', ['--policy', '/p.yml', '--tag', 'x'], 2, /--policy cannot be combined/],
  ];
  for (const [label, args, code, message] of cases) {
    it(label, async () => {
      const mem = tree();
      const before = mem.files();
      for (const command of [['tags', 'rm'], ['prune']]) {
        const run = await cli(mem.fs, [...command, '--root', ROOT, ...args]);
        expect(run.code, run.stderr).toBe(code);
        const errors = run.stderr.split('\n').filter((l) => l.startsWith('registry-janitor: error:'));
        expect(errors).toHaveLength(1);
        expect(errors[0]).toMatch(message);
      }
      expect(mem.files()).toEqual(before);
    });
  }

  const policies: [string, string, RegExp][] = [
    ['not YAML', 'rules: [', /policy \/p.yml: not valid YAML or JSON/],
    ['no rules', 'version: 1\n', /expected a top-level "rules:" list/],
    ['an unknown field', 'rules:\n  - tag: x\n    keepNewest: 3\n', /policy \/p.yml, rule 1, field keepNewest: unknown field/],
    ['a wrong type', 'rules:\n  - tag: x\n  - olderThan: 3\n', /rule 2, field olderThan: expected a string/],
    [
      'a bad regex in rule 2',
      'rules:\n  - tag: x\n  - keepTags: ["["]\n    olderThan: 1d\n',
      /policy \/p.yml, rule 2, field keepTags: invalid regular expression/,
    ],
    ['a rule that narrows nothing', 'rules:\n  - repositories: ["team/**"]\n', /rule 1: needs tag, keepLatest or olderThan/],
    ['JSON with a bad duration', '{"rules": [{"olderThan": "1y"}]}', /policy \/p.yml, rule 1, field olderThan: invalid duration "1y"/],
  ];
  for (const [label, text, message] of policies) {
    it(`a malformed policy: ${label}`, async () => {
      const mem = tree();
      mem.fs.writeFileSync('/p.yml', text);
      const before = mem.files();
      const run = await cli(mem.fs, ['prune', '--root', ROOT, '--policy', '/p.yml']);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(mem.files()).toEqual(before);
    });
  }
});

describe('the README', () => {
  it('policy example parses and means what the README says', async () => {
    const readme = (await import('node:fs')).readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const yaml = /```yaml\n([\s\S]*?)```/.exec(readme)![1]!;
    const { parsePolicy } = await import('../../src/select/policy.js');
    const rules = parsePolicy(yaml, 'README.md');
    expect(rules).toHaveLength(2);
    expect(rules[0]!.keepTags.map((r) => r.source)).toEqual(['^latest$', '^v\\d+\\.\\d+\\.\\d+$']);
    expect(rules[0]!.keepTags[1]!.test('v1.2.3')).toBe(true);
    expect(rules[1]!.matchRepository('ci/web/pr')).toBe(true);
    expect(rules[0]!.matchRepository('base/debian')).toBe(false);
  });
});
