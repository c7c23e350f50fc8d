# bash completion for nsrun(1)                                      -*- shell-script -*-
# SPDX-License-Identifier: LGPL-2.1-or-later

_nsrun() {
        local cur prev words cword
        _init_completion || return

        local sandbox_opts='--root-dir --keep-writes --rw --overlay --tmpfs --no-home --net'
        local run_opts="-j --jobs --mem-per-worker --mem-reserve --pids-max --cpus-per-job --mem-cap --shard --dry-run --dist --fork --batch --serial
                        --jobs-file --setup --timeout --timeout-grace --retries --flaky-fails --repeat -x --exitfirst --junit --json
                        --halt --joblog -k --keep-order --slow-timeout --success-output --no-capture --color -q --quote --log-dir $sandbox_opts -h --help -V --version"
        local exec_opts="$sandbox_opts --mem --pids-max --mem-cap -h --help"
        local doctor_opts='--json -h --help'
        local clean_opts='--root-dir -h --help'
        local merge_opts='--json --junit --history -h --help'
        local xdist_opts='-j --jobs --mem-per-worker --mem-reserve --pids-max --mem-cap --dry-run --root-dir --rw
                          --overlay --tmpfs --no-home --net -h --help'
        local commands='exec xdist merge doctor clean help'

        # After '--' the rest is a command line of its own.
        local i verb=
        for ((i = 1; i < cword; i++)); do
                if [[ ${words[i]} == -- ]]; then
                        _command_offset $((i + 1))
                        return
                fi
        done
        [[ $cword -gt 1 ]] && case ${words[1]} in exec | xdist | merge | doctor | clean | help) verb=${words[1]} ;; esac

        case $prev in
        --root-dir | --keep-writes | --log-dir | --history)
                _filedir -d
                return
                ;;
        --rw | --overlay | --tmpfs | --jobs-file | --junit | --joblog)
                _filedir
                return
                ;;
        --json)
                # the runner's --json takes a file; doctor's is a flag
                [[ $verb == doctor ]] || { _filedir; return; }
                ;;
        --halt)
                COMPREPLY=($(compgen -W 'never soon,fail=1 now,fail=1' -- "$cur"))
                return
                ;;
        --color)
                COMPREPLY=($(compgen -W 'auto always never' -- "$cur"))
                return
                ;;
        --net)
                COMPREPLY=($(compgen -W 'loopback host' -- "$cur"))
                return
                ;;
        --dist)
                COMPREPLY=($(compgen -W 'loadfile test' -- "$cur"))
                return
                ;;
        --fork)
                COMPREPLY=($(compgen -W 'auto on off' -- "$cur"))
                return
                ;;
        --batch)
                COMPREPLY=($(compgen -W 'auto off' -- "$cur"))
                return
                ;;
        --shard)
                COMPREPLY=($(compgen -W 'auto 1/2 2/2 1/3 2/3 3/3' -- "$cur"))
                return
                ;;
        --mem-cap)
                COMPREPLY=($(compgen -W 'off' -- "$cur"))
                return
                ;;
        --mem-per-worker)
                COMPREPLY=($(compgen -W 'auto 512M 1G 2G 4G 8G' -- "$cur"))
                return
                ;;
        --mem)
                COMPREPLY=($(compgen -W '256M 512M 1G 2G 4G' -- "$cur"))
                return
                ;;
        --mem-reserve)
                COMPREPLY=($(compgen -W '10% 20% 1G 2G' -- "$cur"))
                return
                ;;
        --timeout)
                COMPREPLY=($(compgen -W '30s 5m 10m 30m 1h' -- "$cur"))
                return
                ;;
        --timeout-grace)
                COMPREPLY=($(compgen -W '0 5s 10s 30s' -- "$cur"))
                return
                ;;
        -j | --jobs | --pids-max | --cpus-per-job | --retries | --repeat | --serial | --setup)
                return
                ;;
        esac

        case $verb in
        exec) COMPREPLY=($(compgen -W "$exec_opts --" -- "$cur")) ;;
        xdist) COMPREPLY=($(compgen -W "$xdist_opts --" -- "$cur")) ;;
        merge)
                if [[ $cur == -* ]]; then
                        COMPREPLY=($(compgen -W "$merge_opts" -- "$cur"))
                else
                        _filedir '@(json|xml)'
                fi
                ;;
        doctor) COMPREPLY=($(compgen -W "$doctor_opts" -- "$cur")) ;;
        clean) COMPREPLY=($(compgen -W "$clean_opts" -- "$cur")) ;;
        help) ;;
        *)
                if [[ $cur == -* || $cword -gt 1 ]]; then
                        COMPREPLY=($(compgen -W "$run_opts --" -- "$cur"))
                else
                        COMPREPLY=($(compgen -W "$commands $run_opts --" -- "$cur"))
                fi
                ;;
        esac
} && complete -F _nsrun nsrun

# ex: filetype=sh
