// -j's default: one reader thread per core (at least 1, at most 4), so on
// this project's 2-core hosts the default is the -j 2 that measured fastest;
// -j N still asks for N.
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/index.js';
import { defaultConcurrency } from '../../src/cli/options.js';
import { InProcessWorkers } from '../../src/scan/storage-workers.js';
import { ROOT, memTree } from '../support/memfs-tree.js';

async function threadsAskedFor(args: string[]): Promise<number[]> {
  const mem = memTree();
  mem.tree.tag('app', 'v1', mem.tree.pushImage('app', { layers: ['base'] }).digest);
  const asked: number[] = [];
  const code = await runCli(args.concat('--root', ROOT), {
    fs: mem.fs,
    env: {},
    stdout: () => undefined,
    stderr: () => undefined,
    makeWorkers: (reader, threads) => {
      asked.push(threads);
      return new InProcessWorkers(reader);
    },
  });
  expect(code).toBe(0);
  return asked;
}

describe('-j, --concurrency', () => {
  it('defaults to one reader per core, between 1 and 4', () => {
    expect([0, 1, 2, 3, 4, 5, 8, 64].map(defaultConcurrency)).toEqual([1, 1, 2, 3, 4, 4, 4, 4]);
  });

  it('the commands ask for the default threads unless -j says otherwise', async () => {
    const expected = defaultConcurrency(availableParallelism());
    for (const command of [['gc', '-d'], ['gc', '-m', '-d'], ['ls'], ['verify', '--content']]) {
      expect(await threadsAskedFor(command), command.join(' ')).toEqual([expected]);
      expect(await threadsAskedFor([...command, '-j', '3']), command.join(' ')).toEqual([3]);
    }
  });
});
