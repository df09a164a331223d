// Hostile input to tag selection (adversarial review, issue 7, sections 3,
// 4 and 9): retention values that select everything, policy keys that
// reach the prototype, patterns and globs that backtrack for ever, a FIFO
// or socket where a file is expected, and empty arguments from unset shell
// variables. Each case exits 2 (or 1 for the registry config) and deletes
// nothing, or matches in linear time.
import { spawnSync } from 'node:child_process';
import nodeFs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.js';
import { rootFromConfigFile } from '../../src/storage/registry-config.js';
import { compileRepositoryGlobs } from '../../src/select/repository-glob.js';
import { compileTagPattern } from '../../src/select/tag-pattern.js';
import { TreeBuilder, type WritableFileSystem } from '../support/tree-builder.js';
import { ROOT, memTree } from '../support/memfs-tree.js';
import { makeTempDir } from '../support/registry.js';
import { BIN, snapshot } from '../support/tree-files.js';

const NOW = Date.UTC(2026, 10, 23, 12);
const DAY = 86_400_000;
/** 40 characters that make `(a+)+$` and `^([a-z0-9]+-?)+$` backtrack exponentially in a JS RegExp. */
const EVIL_TAG = `${'a'.repeat(39)}_`;
/** A 201-character repository name against which picomatch's `*a*a…` backtracks. */
const LONG_REPO = `${'a'.repeat(199)}/b`;
/** 30 stars separated by "a". */
const STARS = Array.from({ length: 30 }, () => '*').join('a');

function tree() {
  const mem = memTree();
  const { tree: t } = mem;
  const push = (repo: string, tag: string, ageDays: number) => {
    const d = t.pushImage(repo, { layers: ['base', `${repo}-${tag}`] });
    t.tag(repo, tag, d.digest, NOW - ageDays * DAY);
  };
  push('team/app', 'v1', 90);
  push('team/app', 'v1.2.3', 80);
  push('team/app', 'build-9', 35);
  push('team/app', 'ci-7', 20);
  push('team/app', 'latest', 1);
  push('lib/base', 'v1', 100);
  return mem;
}

async function cli(fs: WritableFileSystem, args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, { fs, env: {}, stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), now: () => NOW });
  return { code, stdout, stderr, json: code === 0 && args.includes('--json') ? JSON.parse(stdout) : undefined };
}

const removed = (json: { tagsRemoved: { repository: string; tag: string }[] }): string[] =>
  json.tagsRemoved.map((t) => `${t.repository}:${t.tag}`).sort();

/** Runs `args` on both selecting commands; expects one error line matching `message`, exit `code`, nothing changed. */
async function expectRefused(args: string[], code: number, message: RegExp, setup?: (fs: ReturnType<typeof tree>['fs']) => void) {
  for (const command of [['tags', 'rm'], ['prune']]) {
    const mem = tree();
    setup?.(mem.fs);
    const before = mem.files();
    const run = await cli(mem.fs, [...command, ...args]);
    expect(run.code, `${command.join(' ')} ${args.join(' ')}: ${run.stderr}`).toBe(code);
    const errors = run.stderr.split('\n').filter((line) => line.startsWith('registry-janitor: error:'));
    expect(errors, run.stderr).toHaveLength(1);
    expect(errors[0]).toMatch(message);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(mem.files()).toEqual(before);
  }
}

describe('1. a retention rule that keeps nothing is no rule', () => {
  for (const zero of ['0s', '0m', '0h', '0d', '0w', '00d']) {
    it(`--older-than ${zero} alone is refused, saying how to mean every tag`, async () => {
      await expectRefused(['--root', ROOT, '--older-than', zero], 2, new RegExp(`--older-than ${zero} keeps no tag.*spell out --tag '\\.\\*'`));
    });
  }

  it('--keep-latest 0 alone, or with --older-than 0d, is refused', async () => {
    await expectRefused(['--root', ROOT, '--keep-latest', '0'], 2, /--keep-latest 0 keeps no tag.*spell out --tag '\.\*'/);
    await expectRefused(['--root', ROOT, '--keep-latest', '0', '--older-than', '0d', '--repo', 'team/**'], 2, /--older-than 0d and --keep-latest 0 keep no tag/);
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
    const inRule = new RegExp(`^registry-janitor: error: policy /p.yml, rule 1, field ${key}: unknown field \\(known: repositories, excludeRepositories, tag, keepTags, keepLatest, olderThan\\)$`);
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

describe('3. tag patterns are RE2: linear time, find semantics', () => {
  it('a pattern that backtracks exponentially in a JS RegExp answers at once', () => {
    for (const source of ['(a+)+$', '^([a-z0-9]+-?)+$', '(a|aa)+$', '(.*a){20}$']) {
      const pattern = compileTagPattern(source, '--tag');
      const started = performance.now();
      expect(pattern.test(EVIL_TAG)).toBe(false);
      expect(performance.now() - started).toBeLessThan(2000); // a hang guard only: it takes well under a millisecond
    }
  });

  it('keeps the JS meaning of \\d, ^, $ and find semantics; .source is the text the user wrote', () => {
    const semver = compileTagPattern('^v\\d+\\.\\d+\\.\\d+$', '--keep-tag');
    expect(semver.source).toBe('^v\\d+\\.\\d+\\.\\d+$');
    expect(['v1.2.3', 'v10.20.30', 'v1.2', 'v1.2.3-rc1', 'xv1.2.3', 'v1x2x3'].map((t) => semver.test(t))).toEqual([true, true, false, false, false, false]);
    const ci = compileTagPattern('^(ci|pr)-', '--tag');
    expect(['ci-7', 'pr-12', 'build-ci-7', 'cipr-1'].map((t) => ci.test(t))).toEqual([true, true, false, false]);
    expect(compileTagPattern('uild', '--tag').test('build-9')).toBe(true);
    expect(compileTagPattern('9$', '--tag').test('build-9')).toBe(true);
    expect(compileTagPattern('9$', '--tag').test('build-90')).toBe(false);
  });

  it('the README examples select as documented', async () => {
    const run = await cli(tree().fs, ['tags', 'rm', '-d', '--root', ROOT, '--tag', '^(ci|pr)-|^build-', '--keep-tag', '^v\\d+\\.\\d+\\.\\d+$', '--json']);
    expect(removed(run.json)).toEqual(['team/app:build-9', 'team/app:ci-7']);
    const kept = await cli(tree().fs, ['tags', 'rm', '-d', '--root', ROOT, '--repo', 'team/app', '--tag', '^v', '--keep-tag', '^v\\d+\\.\\d+\\.\\d+$', '--json']);
    expect(removed(kept.json)).toEqual(['team/app:v1']);
    expect(kept.json.tagsKept).toMatchObject([{ tag: 'v1.2.3', reason: 'flags: kept by keep-tag ^v\\d+\\.\\d+\\.\\d+$' }]);
  });

  const refused: [string, string[], RegExp][] = [
    ['a backreference', ['--tag', '(a)\\1'], /^registry-janitor: error: --tag: invalid regular expression "\(a\)\\\\1": backreferences .* are not supported \(patterns use RE2 syntax/],
    ['a negative lookahead', ['--tag', '^(?!latest$)'], /--tag: invalid regular expression .*: lookahead and lookbehind .* are not supported/],
    ['a lookbehind in --keep-tag', ['--tag', 'x', '--keep-tag', '(?<=v)1'], /--keep-tag: invalid regular expression .*: lookahead and lookbehind/],
    ['a JS-only escape', ['--tag', '\\u0041'], /--tag: invalid regular expression "\\\\u0041": invalid escape sequence/],
    ['an empty --tag (unset variable)', ['--tag', ''], /--tag: the pattern is empty \(an unset shell variable\?\).*spell out '\.\*'/],
    ['an empty --keep-tag', ['--older-than', '1d', '--keep-tag', ''], /--keep-tag: the pattern is empty/],
  ];
  for (const [label, args, message] of refused) {
    it(`refuses ${label} with exit 2`, async () => {
      await expectRefused(['--root', ROOT, ...args], 2, message);
    });
  }

  it('refuses what RE2 cannot express in a policy, naming rule and field', async () => {
    await expectRefused(['--root', ROOT, '--policy', '/p.yml'], 2, /^registry-janitor: error: policy \/p.yml, rule 2, field keepTags: invalid regular expression "\(\?!x\)": lookahead/, (fs) =>
      fs.writeFileSync('/p.yml', 'rules:\n  - tag: x\n  - olderThan: 1d\n    keepTags: ["(?!x)"]\n'),
    );
  });
});

describe('4. repository globs match in linear time', () => {
  it(`a glob of 30 stars separated by "a" against a long name matches or refuses at once`, () => {
    const match = compileRepositoryGlobs([STARS], '--repo');
    for (const [name, expected] of [
      ['a'.repeat(255), true],
      [LONG_REPO, false],
      [`${'a'.repeat(28)}${'b'.repeat(227)}`, false],
    ] as const) {
      const started = performance.now();
      expect(match(name)).toBe(expected);
      expect(performance.now() - started).toBeLessThan(2000); // a hang guard only: it takes about a millisecond
    }
  });

  const semantics: [string, string[], string[]][] = [
    ['team/*', ['team/app'], ['team', 'team/app/web', 'teamx/app', 'lib/team/app']],
    ['team/**', ['team', 'team/app', 'team/app/web'], ['teamx', 'teamx/app', 'lib/team']],
    ['**', ['a', 'a/b', 'a/b/c/d'], []],
    ['**/web', ['web', 'team/web', 'team/app/web'], ['team/webx', 'team/app']],
    ['a/**/b', ['a/b', 'a/x/b', 'a/x/y/b'], ['a/xb', 'ab', 'a/b/c']],
    ['team/a**', ['team/a', 'team/app'], ['team/app/web']],
    ['team/ap?', ['team/app', 'team/apx'], ['team/ap', 'team/appp', 'team/ap/']],
    ['lib.x/*', ['lib.x/a'], ['libax/a']],
    ['{team,lib}/*', ['team/app', 'lib/base'], ['ci/app', 'team', 'teamlib/app']],
    ['{team/app,lib}/**', ['team/app', 'team/app/web', 'lib', 'lib/base'], ['team/apps', 'team']],
    ['a{b,c{d,e}}', ['ab', 'acd', 'ace'], ['ac', 'acf']],
  ];
  for (const [glob, yes, no] of semantics) {
    it(`${glob} matches ${yes.join(', ')} and not ${no.join(', ') || 'anything else'}`, () => {
      const match = compileRepositoryGlobs([glob], '--repo');
      for (const name of yes) expect(match(name), name).toBe(true);
      for (const name of no) expect(match(name), name).toBe(false);
    });
  }

  it('several globs match when any does; none matches nothing', () => {
    const match = compileRepositoryGlobs(['team/*', 'lib/base'], '--repo');
    expect(['team/app', 'lib/base', 'lib/x'].map(match)).toEqual([true, true, false]);
    expect(compileRepositoryGlobs([], '--repo')('team/app')).toBe(false);
  });

  const invalid: [string, RegExp][] = [
    ['', /is empty \(an unset shell variable\?\)/],
    ['/team/*', /neither starts nor ends with "\/"/],
    ['team/', /neither starts nor ends with "\/"/],
    ['team/a+b', /"\+" cannot appear in a repository name/],
    ['team/[ab]pp', /"\[" cannot appear in a repository name/],
    ['!(team)/*', /"!" cannot appear/],
    ['{team,lib/*', /"\{" without its "\}"/],
    ['team}/*', /"\}" without its "\{"/],
    ['team,lib', /"," cannot appear/],
  ];
  for (const [glob, message] of invalid) {
    it(`refuses the glob ${JSON.stringify(glob)}`, () => {
      expect(() => compileRepositoryGlobs([glob], '--exclude-repo')).toThrow(message);
      expect(() => compileRepositoryGlobs([glob], '--exclude-repo')).toThrow(new RegExp(`^--exclude-repo: invalid repository glob ${JSON.stringify(glob).replace(/[[\]{}()*+?.\\^$|/]/g, '\\$&')}`));
    });
  }

  it('--repo, --exclude-repo and --skip-repo refuse an unsupported glob with exit 2 instead of matching nothing', async () => {
    await expectRefused(['--root', ROOT, '--repo', 'team/[a]pp', '--tag', 'x'], 2, /^registry-janitor: error: --repo: invalid repository glob "team\/\[a\]pp"/);
    await expectRefused(['--root', ROOT, '--exclude-repo', 'lib/[b]ase', '--tag', 'x'], 2, /^registry-janitor: error: --exclude-repo: invalid repository glob/);
    await expectRefused(['--root', ROOT, '--tag', 'x', '--exclude-repo', ''], 2, /--exclude-repo: invalid repository glob "": it is empty/);
    for (const args of [['gc', '--skip-repo', 'team/[a]pp'], ['prune', '--tag', 'x', '--skip-repo', 'team/@pp'], ['gc', '--skip-repo', '']]) {
      const mem = tree();
      const before = mem.files();
      const run = await cli(mem.fs, [...args, '--root', ROOT]);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(/^registry-janitor: error: --skip-repo: invalid repository glob/);
      expect(mem.files()).toEqual(before);
    }
  });

  it('--skip-repo still skips what its glob names, ** included', async () => {
    const run = await cli(tree().fs, ['gc', '-m', '-d', '--root', ROOT, '--skip-repo', '{lib,ci}/**', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json.skipped).toEqual(['lib/base']);
  });
});

describe('5. a config or policy that is not a regular file is refused before it is read', () => {
  it('a directory (memfs): exit 2 for --policy, exit 1 for --config', async () => {
    await expectRefused(['--root', ROOT, '--policy', '/etc'], 2, /^registry-janitor: error: cannot read policy \/etc: it is a directory, not a regular file$/, (fs) => fs.mkdirSync('/etc', { recursive: true }));
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
    for (const args of [['gc', '--root', ''], ['gc', '--config', ''], ['ls', '--root', ''], ['garbage-collect', '']]) {
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

// The built CLI on a real filesystem, for what memfs cannot show (a FIFO, a
// socket) and for hangs: a regression is killed by the timeout and fails.
describe('on a real filesystem, through the built CLI', () => {
  const work = makeTempDir('hostile');
  afterAll(() => nodeFs.rmSync(work, { recursive: true, force: true }));
  const TIMEOUT_MS = 20_000;
  const janitor = (args: string[]) => {
    const run = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: TIMEOUT_MS, killSignal: 'SIGKILL' });
    return { status: run.status, stdout: run.stdout, stderr: run.stderr, timedOut: run.error !== undefined || run.signal !== null };
  };
  const root = path.join(work, 'root');
  const t = new TreeBuilder(nodeFs as unknown as WritableFileSystem, path.join(root, 'docker/registry/v2'));
  for (const [repo, tag] of [
    ['team/app', EVIL_TAG],
    ['team/app', 'latest'],
    [LONG_REPO, 'v1'],
  ] as const) {
    const image = t.pushImage(repo, { layers: [`${repo}-${tag}`] });
    t.tag(repo, tag, image.digest, NOW - 10 * DAY);
  }

  it('a FIFO as --policy (exit 2) or --config (exit 1) is refused at once', () => {
    const fifo = path.join(work, 'policy.fifo');
    const made = spawnSync('mkfifo', [fifo]);
    expect(made.status, String(made.stderr)).toBe(0);
    const before = snapshot(root);
    const policy = janitor(['prune', '--root', root, '--policy', fifo]);
    expect(policy.timedOut).toBe(false);
    expect(policy.status).toBe(2);
    expect(policy.stderr).toBe(`registry-janitor: error: cannot read policy ${fifo}: it is a FIFO, not a regular file\n`);
    const config = janitor(['gc', '-d', '--config', fifo]);
    expect(config.timedOut).toBe(false);
    expect(config.status).toBe(1);
    expect(config.stderr).toBe(`registry-janitor: error: cannot read registry config ${fifo}: it is a FIFO, not a regular file\n`);
    expect(snapshot(root)).toEqual(before);
  });

  it('a character device and a socket are refused and named', async () => {
    const device = janitor(['tags', 'rm', '--root', root, '--policy', '/dev/zero']);
    expect(device.status).toBe(2);
    expect(device.stderr).toBe('registry-janitor: error: cannot read policy /dev/zero: it is a character device, not a regular file\n');
    const socketPath = path.join(work, 'config.sock');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      const socket = janitor(['gc', '-d', '--config', socketPath]);
      expect(socket.status).toBe(1);
      expect(socket.stderr).toBe(`registry-janitor: error: cannot read registry config ${socketPath}: it is a socket, not a regular file\n`);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('backtracking tag patterns against a crafted 40-character tag answer at once', () => {
    for (const args of [
      ['--tag', '(a+)+$'],
      ['--tag', '.', '--keep-tag', '^([a-z0-9]+-?)+$'],
    ]) {
      const run = janitor(['tags', 'rm', '-d', '--json', '--root', root, ...args]);
      expect(run.timedOut, args.join(' ')).toBe(false);
      expect(run.status, run.stderr).toBe(0);
    }
  });

  it('a glob of 30 stars against a 201-character repository name answers at once', () => {
    const run = janitor(['tags', 'rm', '-d', '--json', '--root', root, '--repo', STARS, '--tag', '.']);
    expect(run.timedOut).toBe(false);
    expect(run.status, run.stderr).toBe(0);
    const skip = janitor(['gc', '-d', '--json', '--root', root, '--skip-repo', STARS]);
    expect(skip.timedOut).toBe(false);
    expect(skip.status, skip.stderr).toBe(0);
  });
});

describe('a candidate pattern that matches the empty string matches every tag', () => {
  it('is refused (an unset variable in "^${PREFIX}"), unless spelled as .*', async () => {
    const { runCli } = await import('../../src/cli.js');
    const { memTree, ROOT } = await import('../support/memfs-tree.js');
    const mem = memTree();
    mem.tree.tag('app', 'v1', mem.tree.pushImage('app', { layers: ['a'] }).digest);
    for (const tag of ['^', '$', 'x*', '(|a)', '^(?:)']) {
      let stderr = '';
      const code = await runCli(['tags', 'rm', '--tag', tag, '--root', ROOT], { fs: mem.fs, env: {}, stdout: () => {}, stderr: (s) => void (stderr += s) });
      expect(code, tag).toBe(2);
      expect(stderr).toMatch(/matches the empty string, so it matches every tag .*spell out '\.\*'/);
    }
    mem.fs.writeFileSync('/p.yml', 'rules:\n  - tag: "^"\n');
    expect(await runCli(['prune', '--policy', '/p.yml', '--root', ROOT], { fs: mem.fs, env: {}, stdout: () => {}, stderr: () => {} })).toBe(2);
    const code = await runCli(['tags', 'rm', '-d', '--tag', '.*', '--root', ROOT], { fs: mem.fs, env: {}, stdout: () => {}, stderr: () => {} });
    expect(code).toBe(0);
  });
});
