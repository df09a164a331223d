// Hostile input to tag selection (adversarial review, issue 7, sections 3,
// 4 and 9), the matching: tag patterns and repository globs that backtrack
// for ever in a JS RegExp or picomatch match in linear time (RE2 and a glob
// matcher of our own), what they cannot express is refused with exit 2, and
// through the built CLI on a real filesystem a FIFO or socket where a file
// is expected is refused at once. Rules and arguments:
// selection-rules.test.ts.
import { spawnSync } from 'node:child_process';
import nodeFs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileRepositoryGlobs } from '../../src/select/repository-glob.js';
import { compileTagPattern } from '../../src/select/tag-pattern.js';
import { TreeBuilder } from '../support/tree-builder.js';
import { ROOT } from '../support/memfs-tree.js';
import { makeTempDir } from '../support/registry.js';
import { DAY, NOW, cli, expectRefused, removed, tree } from '../support/selection-tree.js';
import { BIN, snapshot } from '../support/tree-files.js';

/** 40 characters that make `(a+)+$` and `^([a-z0-9]+-?)+$` backtrack exponentially in a JS RegExp. */
const EVIL_TAG = `${'a'.repeat(39)}_`;
/** A 201-character repository name against which picomatch's `*a*a…` backtracks. */
const LONG_REPO = `${'a'.repeat(199)}/b`;
/** 30 stars separated by "a". */
const STARS = Array.from({ length: 30 }, () => '*').join('a');

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
    const kept = await cli(tree().fs, [
      'tags',
      'rm',
      '-d',
      '--root',
      ROOT,
      '--repo',
      'team/app',
      '--tag',
      '^v',
      '--keep-tag',
      '^v\\d+\\.\\d+\\.\\d+$',
      '--json',
    ]);
    expect(removed(kept.json)).toEqual(['team/app:v1']);
    expect(kept.json.tagsKept).toMatchObject([{ tag: 'v1.2.3', reason: 'flags: kept by keep-tag ^v\\d+\\.\\d+\\.\\d+$' }]);
  });

  const refused: [string, string[], RegExp][] = [
    [
      'a backreference',
      ['--tag', '(a)\\1'],
      /^registry-janitor: error: --tag: invalid regular expression "\(a\)\\\\1": backreferences .* are not supported \(patterns use RE2 syntax/,
    ],
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
    await expectRefused(
      ['--root', ROOT, '--policy', '/p.yml'],
      2,
      /^registry-janitor: error: policy \/p.yml, rule 2, field keepTags: invalid regular expression "\(\?!x\)": lookahead/,
      (fs) => fs.writeFileSync('/p.yml', 'rules:\n  - tag: x\n  - olderThan: 1d\n    keepTags: ["(?!x)"]\n'),
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
      expect(() => compileRepositoryGlobs([glob], '--exclude-repo')).toThrow(
        new RegExp(`^--exclude-repo: invalid repository glob ${JSON.stringify(glob).replace(/[[\]{}()*+?.\\^$|/]/g, '\\$&')}`),
      );
    });
  }

  it('--repo, --exclude-repo and --skip-repo refuse an unsupported glob with exit 2 instead of matching nothing', async () => {
    await expectRefused(['--root', ROOT, '--repo', 'team/[a]pp', '--tag', 'x'], 2, /^registry-janitor: error: --repo: invalid repository glob "team\/\[a\]pp"/);
    await expectRefused(['--root', ROOT, '--exclude-repo', 'lib/[b]ase', '--tag', 'x'], 2, /^registry-janitor: error: --exclude-repo: invalid repository glob/);
    await expectRefused(['--root', ROOT, '--tag', 'x', '--exclude-repo', ''], 2, /--exclude-repo: invalid repository glob "": it is empty/);
    for (const args of [
      ['gc', '--skip-repo', 'team/[a]pp'],
      ['prune', '--tag', 'x', '--skip-repo', 'team/@pp'],
      ['gc', '--skip-repo', ''],
    ]) {
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
  const t = new TreeBuilder(nodeFs, path.join(root, 'docker/registry/v2'));
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
