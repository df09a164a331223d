// The completion script (`registry-janitor completion bash`) run in a real
// bash, as the shell runs it when the user presses Tab.
import { spawnSync } from 'node:child_process';
import { expect } from 'vitest';

/** What bash completes for `line` (the cursor at its end), with the script at `file` sourced. */
export function completeInBash(file: string, line: string): string[] {
  const words = line.split(' ');
  const program = [
    `source ${file}`,
    `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')})`,
    `COMP_CWORD=${words.length - 1}`,
    '_registry_janitor',
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n');
  const run = spawnSync('bash', ['-c', program], { encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  return run.stdout.split('\n').filter(Boolean);
}
