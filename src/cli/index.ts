// The command line. Thin: parse flags, pick the root, call an orchestrator,
// render, and return an exit code (0 ok, 1 failure, 2 usage, 3 report lost,
// 4 --free short, 130/143 interrupted). I/O comes in through `CliIo` so
// tests run it on memfs with captured output. Each command family registers
// itself from its own file: sweep-commands (gc, garbage-collect, prune),
// tag-commands (tags rm), read-commands (ls, verify), trash-commands (trash restore, trash empty).

import { Command, CommanderError } from 'commander';
import { JanitorError, describeError } from '../errors.js';
import type { CliIo } from './cli-io.js';
import { CliRun } from './cli-run.js';
import { registerReadCommands } from './read-commands.js';
import { registerPlanCommands } from './plan-commands.js';
import { registerSweepCommands } from './sweep-commands.js';
import { registerTagCommands } from './tag-commands.js';
import { registerTrashCommands } from './trash-commands.js';
import { normalizeDropInArgs } from './drop-in.js';
import { registerCompletion } from './completion.js';
import { addTelemetryOptions, commandOf } from './telemetry.js';
import { packageVersion } from '../version.js';

export async function runCli(args: readonly string[], io: CliIo): Promise<number> {
  const run = new CliRun(io, args);
  // --metrics-file and --log-format see every run to its end, failed ones included (telemetry.ts).
  return run.telemetry.finish(await runCommand(run, args), run.startedAt);
}

async function runCommand(run: CliRun, args: readonly string[]): Promise<number> {
  const { io } = run;
  const program = addTelemetryOptions(
    new Command('registry-janitor')
      .description('Reclaim disk space in a Distribution registry storage tree (run it with the registry stopped or read-only).')
      .version(packageVersion(), '-V, --version', 'print the version and exit')
      .exitOverride()
      .configureOutput({ writeOut: io.stdout, writeErr: io.stderr }),
  );
  registerSweepCommands(program, run);
  registerTagCommands(program, run);
  registerReadCommands(program, run);
  registerPlanCommands(program, run);
  registerTrashCommands(program, run);
  registerCompletion(program, run);

  try {
    if (args.length === 0) {
      io.stderr(program.helpInformation());
      return 2;
    }
    run.telemetry.check();
    // garbage-collect's flags as Go reads them (drop-in.ts).
    const at = commandOf(args) === 'garbage-collect' ? args.indexOf('garbage-collect') + 1 : 0;
    const line = at > 0 ? [...args.slice(0, at), ...normalizeDropInArgs(args.slice(at))] : args;
    await program.parseAsync([...line], { from: 'user' });
    return run.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit 0; commander has printed its usage error (a missing subcommand shows help with exit code 1).
      if (error.exitCode === 0) return 0;
      run.failJson({ code: 'E_USAGE', message: error.message.replace(/^error: /, ''), path: null });
      return 2;
    }
    run.diagnose(`registry-janitor: error: ${describeError(error)}\n`);
    run.failJson({
      code: error instanceof JanitorError ? error.code : 'E_INTERNAL',
      message: describeError(error),
      path: error instanceof JanitorError ? (error.path ?? null) : null,
    });
    return error instanceof JanitorError ? error.exitCode : 1;
  }
}
