/**
 * `wgts completion bash`: a bash completion script for the subcommands,
 * interface names (from `wgts show interfaces`), show fields and config files.
 */
import { EXIT_OK, UsageError, isHelpFlag, type Cli } from './context.js';
import { COMMAND_ORDER, commandHelp, usageLine } from './help.js';
import { SHOW_FIELDS } from './show-format.js';

export function bashCompletion(prog: string): string {
  const fn = `_${prog.replace(/[^A-Za-z0-9_]/g, '_')}_completion`;
  return `# bash completion for ${prog}; load with: source <(${prog} completion bash)
${fn}() {
	local cur=\${COMP_WORDS[COMP_CWORD]} cmd=\${COMP_WORDS[1]}
	if [[ $COMP_CWORD -eq 1 ]]; then
		COMPREPLY=( $(compgen -W "${COMMAND_ORDER.join(' ')} --help --version" -- "$cur") )
		return
	fi
	case "$cmd" in
	show|showconf|set|setconf|addconf|syncconf|down)
		if [[ $COMP_CWORD -eq 2 ]]; then
			local extra=""
			[[ $cmd == show ]] && extra=" all interfaces"
			COMPREPLY=( $(compgen -W "$(${prog} show interfaces 2>/dev/null)$extra" -- "$cur") )
			return
		fi ;;
	esac
	case "$cmd" in
	show)
		[[ $COMP_CWORD -eq 3 && \${COMP_WORDS[2]} != interfaces ]] && COMPREPLY=( $(compgen -W "${SHOW_FIELDS.join(' ')}" -- "$cur") ) ;;
	setconf|addconf|syncconf)
		[[ $COMP_CWORD -eq 3 ]] && { compopt -o filenames; COMPREPLY=( $(compgen -f -- "$cur") ); } ;;
	up|strip)
		if [[ $COMP_CWORD -eq 2 ]]; then
			compopt -o filenames
			local names=""
			[[ -r /etc/wireguard ]] && names=$(cd /etc/wireguard 2>/dev/null && ls -1 -- *.conf 2>/dev/null | sed 's/\\.conf$//')
			COMPREPLY=( $(compgen -W "$names" -- "$cur") $(compgen -f -X '!*.conf' -- "$cur") $(compgen -d -- "$cur") )
		elif [[ $cmd == up ]]; then
			case "\${COMP_WORDS[COMP_CWORD-1]}" in
			--mode) COMPREPLY=( $(compgen -W "netstack tun" -- "$cur") ) ;;
			--log-level) COMPREPLY=( $(compgen -W "silent error warn info verbose debug" -- "$cur") ) ;;
			--user) COMPREPLY=( $(compgen -u -- "$cur") ) ;;
			*) COMPREPLY=( $(compgen -W "--mode --log-level --user" -- "$cur") ) ;;
			esac
		fi ;;
	set)
		local prev=\${COMP_WORDS[COMP_CWORD-1]}
		case "$prev" in
		private-key|preshared-key) compopt -o filenames; COMPREPLY=( $(compgen -f -- "$cur") ) ;;
		peer) COMPREPLY=( $(compgen -W "$(${prog} show "\${COMP_WORDS[2]}" peers 2>/dev/null)" -- "$cur") ) ;;
		listen-port|fwmark|endpoint|allowed-ips|persistent-keepalive) ;;
		*) COMPREPLY=( $(compgen -W "listen-port fwmark private-key peer remove preshared-key endpoint persistent-keepalive allowed-ips" -- "$cur") ) ;;
		esac ;;
	completion)
		[[ $COMP_CWORD -eq 2 ]] && COMPREPLY=( $(compgen -W "bash" -- "$cur") ) ;;
	esac
}
complete -F ${fn} ${prog}
`;
}

export async function completion(cli: Cli, args: string[]): Promise<number> {
  if (args.length === 1 && isHelpFlag(args[0])) {
    cli.out(commandHelp(cli.prog, 'completion'));
    return EXIT_OK;
  }
  if (args.length !== 1 || args[0] !== 'bash') throw new UsageError(usageLine(cli.prog, 'completion').trimEnd());
  cli.out(bashCompletion(cli.prog));
  return EXIT_OK;
}
