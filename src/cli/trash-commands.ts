// `trash restore DIR` and `trash empty DIR [--older-than AGE]`: the way back
// from a --trash run, and the way on (commands/trash).
import type { Command } from 'commander';
import { type TrashResult, runTrashEmpty, runTrashRestore } from '../commands/trash/index.js';
import { renderTrashHuman, renderTrashJson, trashRunComplete } from '../report/render-trash.js';
import { parseDuration } from '../select/duration.js';
import type { CliRun } from './cli-run.js';
import { parseWait } from './options.js';

interface TrashCommandFlags {
  json?: boolean;
  quiet?: boolean;
  wait?: string | true;
  olderThan?: string;
}

function report(run: CliRun, result: TrashResult, flags: TrashCommandFlags): void {
  run.report(
    () => {
      run.io.stdout(flags.json ? renderTrashJson(result, run.stamp()) : renderTrashHuman(result, run.paint));
    },
    `${result.action === 'restore' ? 'restored' : 'deleted'} ${result.done} items`,
  );
  // 1 when an item was refused or named by no record: it is still in the trash.
  if (!trashRunComplete(result)) run.exitCode = 1;
}

function addTrashCommandOptions(command: Command): Command {
  return command
    .argument('<dir>', 'the trash directory a --trash run filled')
    .option('--json', 'print exactly one JSON object on stdout')
    .option('-q, --quiet', 'print only errors on stderr (no phase lines)')
    .option('--wait [duration]', "wait for another run's lock (as long as it takes, or DURATION: 10m) instead of refusing");
}

export function registerTrashCommands(program: Command, run: CliRun): void {
  const { io } = run;
  const trash = program.command('trash').description('what --trash moved aside: put it back, or delete it for good');
  addTrashCommandOptions(trash.command('restore'))
    .description('put everything in the trash back where it came from (never over anything written there since); takes the run lock')
    .action(async (dir: string, flags: TrashCommandFlags) => {
      const result = await runTrashRestore(io.fs, dir, {
        onPhase: run.telemetry.phases(run.phaseLines(flags)),
        command: run.commandLine,
        waitMs: parseWait(flags.wait),
      });
      report(run, result, flags);
    });
  addTrashCommandOptions(trash.command('empty'))
    .description('delete what is in the trash for good (only the shapes its manifest names); frees the space')
    .option('--older-than <age>', 'only what was moved in longer ago than AGE (30d, 12h, 90m)')
    .action(async (dir: string, flags: TrashCommandFlags) => {
      const result = await runTrashEmpty(io.fs, dir, {
        onPhase: run.telemetry.phases(run.phaseLines(flags)),
        command: run.commandLine,
        waitMs: parseWait(flags.wait),
        olderThanMs: flags.olderThan === undefined ? undefined : parseDuration(flags.olderThan, '--older-than'),
        now: run.now,
      });
      report(run, result, flags);
    });
}
