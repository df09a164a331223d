// `registry-janitor completion bash|zsh`: a completion script, written from
// the commands and options registered on the program (so it never lists a
// flag the CLI does not take). Bash: `source <(registry-janitor completion
// bash)`, or save it as /etc/bash_completion.d/registry-janitor. Zsh loads
// the same function through bashcompinit.

import type { Command } from 'commander';
import { JanitorError } from '../errors.js';
import type { CliRun } from './cli-run.js';

/** Options whose value is a directory or a file: completed as such. */
const DIRECTORY_OPTIONS = ['--root', '--trash'];
const FILE_OPTIONS = ['--config', '--policy', '--metrics-file', '--plan'];

/** Every command path (`gc`, `tags rm`) with the words that may follow it. */
function commandWords(program: Command): Map<string, string[]> {
  const words = new Map<string, string[]>();
  const visit = (command: Command, path: string): void => {
    const options = command.options.filter((o) => !o.hidden).flatMap((o) => [o.short, o.long].filter((f): f is string => f !== undefined));
    const subcommands = command.commands.flatMap((c) => [c.name(), ...c.aliases()]);
    words.set(path, [...subcommands, ...options, '--help']);
    for (const sub of command.commands) for (const name of [sub.name(), ...sub.aliases()]) visit(sub, path === '' ? name : `${path} ${name}`);
  };
  visit(program, '');
  words.set('completion', ['bash', 'zsh']);
  return words;
}

const quote = (text: string): string => `'${text.replaceAll("'", "'\\''")}'`;

function bashScript(program: Command): string {
  const cases = [...commandWords(program)].map(([path, words]) => `    ${quote(path)}) opts=${quote(words.join(' '))} ;;`);
  return `# bash completion for registry-janitor (registry-janitor completion bash)
_registry_janitor() {
  local cur prev cmd word opts
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  case "$prev" in
    ${DIRECTORY_OPTIONS.join('|')}) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    ${FILE_OPTIONS.join('|')}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  # The command path: the words before the cursor that are not options (tags rm, plan show, trash restore: two).
  cmd=""
  for word in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    case "$word" in -*) continue ;; esac
    case "$cmd" in
      "") cmd="$word" ;;
      tags|plan|trash) cmd="$cmd $word" ;;
    esac
  done
  case "$cmd" in
${cases.join('\n')}
    *) opts="" ;;
  esac
  if [[ "$cur" == -* || "$cmd" == "" || "$cmd" == tags || "$cmd" == plan || "$cmd" == trash || "$cmd" == completion ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -F _registry_janitor registry-janitor
`;
}

export function registerCompletion(program: Command, run: CliRun): void {
  program
    .command('completion')
    .description('print a shell completion script (bash or zsh): source <(registry-janitor completion bash)')
    .argument('<shell>', 'bash or zsh')
    .action((shell: string) => {
      if (shell === 'bash') run.io.stdout(bashScript(program));
      else if (shell === 'zsh')
        run.io.stdout(
          `# zsh completion for registry-janitor: the bash function, through bashcompinit\nautoload -U +X bashcompinit && bashcompinit\n${bashScript(program)}`,
        );
      else throw new JanitorError('E_USAGE', `completion: the shell is bash or zsh, not ${JSON.stringify(shell)}`);
    });
}
