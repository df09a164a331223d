// The journal recognises a rerun by what it selects, not by the flags that
// only say where the output goes (cli-run.ts journalOf): after an
// interrupted prune, `prune --plan FILE` of the same selection previews the
// resume (the tag the prune already removed is in the plan) instead of
// warning that a journal is pending; apply of that plan, which keeps a
// journal of its own, asks for the prune to be finished first.
import { describe, expect, it } from 'vitest';
import { runCliOn } from '../support/run-cli.js';
import { type MemFs, ROOT, V2, exists, killedAfter, listFiles, markLockHolderDead, memTree } from '../support/memfs-tree.js';

const NOW = Date.UTC(2026, 10, 23);
const PLAN = '/plans/prune.jsonl';
const SELECTION = ['prune', '-m', 'app:v1', 'lib:old'];

function world() {
  const mem = memTree();
  const t = mem.tree;
  mem.fs.mkdirSync('/plans', { recursive: true });
  t.tag('app', 'v1', t.pushImage('app', { layers: ['base', 'one'] }).digest);
  t.tag('app', 'v2', t.pushImage('app', { layers: ['base', 'two'] }).digest);
  t.tag('lib', 'old', t.pushImage('lib', { layers: ['old'] }).digest);
  t.tag('lib', 'new', t.pushImage('lib', { layers: ['new'] }).digest);
  return mem;
}

const cli = (fs: MemFs, args: string[]) => runCliOn(fs, args, { now: NOW });
const tagLink = (repo: string, tag: string): string => `${V2}/repositories/${repo}/_manifests/tags/${tag}/current/link`;

/** A prune killed after its first tag went: the journal stays, app:v1 is gone, lib:old is not. */
async function interruptedPrune(): Promise<MemFs> {
  for (let budget = 1; budget < 20; budget++) {
    const mem = world();
    const run = await cli(killedAfter(mem.fs, budget), [...SELECTION, '--root', ROOT]);
    if (run.code !== 0 && exists(mem.fs, `${V2}/_janitor/journal.json`) && !exists(mem.fs, tagLink('app', 'v1')) && exists(mem.fs, tagLink('lib', 'old'))) {
      markLockHolderDead(mem.fs);
      return mem.fs;
    }
  }
  throw new Error('no budget left the prune half done with its journal');
}

describe('prune --plan after an interrupted prune', () => {
  it('previews the resume (no W_JOURNAL_PENDING, the removed tag planned); apply waits for the prune to be finished', async () => {
    const fs = await interruptedPrune();
    const plan = await cli(fs, [...SELECTION, '--root', ROOT, '--plan', PLAN, '--json']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.json.warnings.map((w: { code: string }) => w.code)).not.toContain('W_JOURNAL_PENDING');
    expect(plan.json.tagsRemoved.map((d: { repository: string; tag: string }) => `${d.repository}:${d.tag}`).sort()).toEqual(['app:v1', 'lib:old']);
    // What the dry run of the same command shows, as it always did.
    const dry = await cli(fs, [...SELECTION, '--root', ROOT, '-d', '--json']);
    expect(dry.json.tagsRemoved).toEqual(plan.json.tagsRemoved);

    // apply keeps a journal of its own: the pending prune is finished first (one line, nothing deleted), then the plan applies.
    // The dead holder's lock is the tool's own: apply takes it over and releases it.
    const registryFiles = (): string[] => listFiles(fs, ROOT).filter((f) => !f.endsWith('/_janitor/lock'));
    const files = registryFiles();
    const refused = await cli(fs, ['apply', PLAN, '-q']);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/an interrupted `registry-janitor prune -m app:v1 lib:old .*` .*has not finished: rerun it first/),
    ]);
    expect(registryFiles()).toEqual(files);
    const rerun = await cli(fs, [...SELECTION, '--root', ROOT]);
    expect(rerun.code, rerun.stderr).toBe(0);
    const applied = await cli(fs, ['apply', PLAN, '--json']);
    expect(applied.code, applied.stderr).toBe(0);
    expect(exists(fs, tagLink('lib', 'old'))).toBe(false);
    expect(exists(fs, tagLink('lib', 'new'))).toBe(true);
    expect(exists(fs, `${V2}/_janitor/journal.json`)).toBe(false);
  });
});
