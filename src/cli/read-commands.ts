// The commands that only read: ls (the inventory) and verify (the offline fsck).

import { type Command, Option } from 'commander';
import { type LsRepo, type LsSort, runLs } from '../commands/ls/index.js';
import { runVerify } from '../commands/verify/index.js';
import { renderLsFooterHuman, renderLsJson, renderLsRepositoryHuman } from '../report/render-ls.js';
import { renderVerifyHuman, renderVerifyJson } from '../report/render-verify.js';
import type { CliRun } from './cli-run.js';
import { type CommonFlags, type PrefetchFlags, addPrefetchOption, addRootOptions, collect, resolveRoot } from './options.js';

export function registerReadCommands(program: Command, run: CliRun): void {
  const { io } = run;
  addPrefetchOption(addRootOptions(program.command('ls')))
    .description('inventory: tags, sizes, what each tag alone would free, untagged revisions')
    .argument('[REPO-GLOB...]', 'only repositories matching')
    .addOption(new Option('--sort <key>', 'order of tags (and repositories)').choices(['name', 'size', 'age']).default('name'))
    .action(async (globs: string[], flags: CommonFlags & PrefetchFlags & { sort: LsSort }) => {
      // Human output streams: each repository's block is written once it is
      // accounted (under --sort size|age, all at the end, sorted). --json
      // holds the rows: its totalSize and stamp come before them.
      const result = await runLs(io.fs, resolveRoot(io.fs, flags, io.env), {
        globs,
        sort: flags.sort,
        makeWorkers: run.workersFor(flags),
        prefetch: flags.prefetch,
        onPhase: run.telemetry.phases(run.phaseLines(flags)),
        ...(flags.json ? {} : { onRepository: (repo: LsRepo) => io.stdout(renderLsRepositoryHuman(repo)) }),
      });
      io.stdout(flags.json ? renderLsJson(result, run.stamp()) : renderLsFooterHuman(result, run.paint));
    });

  addPrefetchOption(addRootOptions(program.command('verify')))
    .description('offline fsck: would every tag pull? (reads only; safe on a read-only mount while the registry serves)')
    .option('--repo <glob>', 'only repositories matching (repeatable)', collect)
    .option('--content', 're-hash every blob a tag needs against its digest (reads every byte; -j threads)')
    .action(async (flags: CommonFlags & PrefetchFlags & { repo?: string[]; content?: boolean }) => {
      // A progress line as gc's (--content reads every byte: it can take hours).
      const result = await runVerify(io.fs, resolveRoot(io.fs, flags, io.env), {
        globs: flags.repo ?? [],
        content: flags.content === true,
        makeWorkers: run.workersFor(flags),
        prefetch: flags.prefetch,
        onPhase: run.telemetry.phases(run.progressOf(flags, 'read')),
      }).finally(() => {
        run.closeProgress();
      });
      io.stdout(flags.json ? renderVerifyJson(result, run.stamp()) : renderVerifyHuman(result, run.paint));
      // 1 when a tag would not pull; findings that break no tag leave it 0.
      if (result.tagsBroken > 0) run.exitCode = 1;
    });
}
