// The command line. Thin: parse flags, pick the root, call an orchestrator,
// render, and return an exit code (0 ok, 1 failure, 2 usage, 3 report lost,
// 4 --free short, 130/143 interrupted). I/O comes in through `CliIo` so
// tests run it on memfs with captured output. Each command family registers
// itself from its own file: sweep-commands (gc, garbage-collect, prune),
// tag-commands (tags rm), read-commands (ls, verify).

import { Command, CommanderError } from 'commander';
import { JanitorError, describeError } from '../errors.js';
import type { CliIo } from './cli-io.js';
import { CliRun } from './cli-run.js';
import { registerReadCommands } from './read-commands.js';
import { registerSweepCommands } from './sweep-commands.js';
import { registerTagCommands } from './tag-commands.js';

export async function runCli(args: readonly string[], io: CliIo): Promise<number> {
  const run = new CliRun(io, args);
  const program = new Command('registry-janitor')
    .description('Reclaim disk space in a Distribution registry storage tree (run it with the registry stopped or read-only).')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  registerSweepCommands(program, run);
  registerTagCommands(program, run);
  registerReadCommands(program, run);

  try {
    if (args.length === 0) {
      io.stderr(program.helpInformation());
      return 2;
    }
    await program.parseAsync([...args], { from: 'user' });
    return run.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help exits 0; a missing subcommand shows help with exit code 1: a usage error.
      return error.exitCode === 0 ? 0 : 2;
    }
    run.diagnose(`registry-janitor: error: ${describeError(error)}\n`);
    return error instanceof JanitorError ? error.exitCode : 1;
  }
}
