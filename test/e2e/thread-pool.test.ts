// The entry sizes libuv's thread pool before anything starts it (bin/registry-janitor.js:
// a CommonJS file, as an ES module entry is loaded through the pool). Counted off
// /proc/<pid>/task while the run waits on a lock held by this test.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, v2Of } from '../support/tree-files.js';

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) fs.rmSync(root, { recursive: true, force: true });
});

/** The threads of a `gc --wait` blocked on a held lock, counted once it has started. */
async function countThreads(env: NodeJS.ProcessEnv): Promise<number> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rj-threads-'));
  roots.push(root);
  const v2 = v2Of(root);
  fs.mkdirSync(path.join(v2, 'blobs/sha256'), { recursive: true });
  fs.mkdirSync(path.join(v2, 'repositories'), { recursive: true });
  fs.mkdirSync(path.join(v2, '_janitor'));
  const holder = { pid: process.pid, host: os.hostname(), command: 'registry-janitor gc -m', startedAt: new Date().toISOString() };
  fs.writeFileSync(path.join(v2, '_janitor/lock'), JSON.stringify(holder));
  const child = spawn(process.execPath, [BIN, 'gc', '--wait', '20s', '--root', root], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    // Waiting on the lock: the CLI thread and libuv's pool are up by then (it polls every few hundred ms).
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(child.exitCode, 'the run should still be waiting on the lock').toBeNull();
    return fs.readdirSync(`/proc/${child.pid}/task`).length;
  } finally {
    child.kill('SIGKILL');
  }
}

describe.runIf(process.platform === 'linux')("libuv's thread pool", () => {
  it('is 16 threads unless the caller set UV_THREADPOOL_SIZE, whose value is kept', async () => {
    const env = { ...process.env };
    delete env.UV_THREADPOOL_SIZE;
    const ours = await countThreads(env);
    const callers = await countThreads({ ...env, UV_THREADPOOL_SIZE: '2' });
    // Node's own threads (main, the CLI worker, V8's platform workers, the inspector) are the same in both runs.
    expect(ours - callers).toBe(14);
  }, 30_000);
});
