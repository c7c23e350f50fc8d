# fish completion for nsrun(1)
# SPDX-License-Identifier: LGPL-2.1-or-later

# The command word (exec, xdist, doctor, clean, help), '--' once the command line after it has begun, or nothing.
function __nsrun_verb
        set -l tokens (commandline -opc)
        for t in $tokens[2..-1]
                switch $t
                        case exec xdist merge doctor clean help --
                                echo -- $t
                                return
                end
        end
end

function __nsrun_no_verb
        set -l v (__nsrun_verb)
        test -z "$v"
end

function __nsrun_verb_is
        set -l v (__nsrun_verb)
        test "$v" = "$argv[1]"
end

function __nsrun_after_dashdash
        contains -- -- (commandline -opc)
end

# Completes the command line after '--' as a command of its own.
function __nsrun_complete_command
        set -l tokens (commandline -opc)
        set -l i (contains -i -- -- $tokens)
        set -l rest $tokens[(math $i + 1)..-1] (commandline -ct)
        complete -C (string join -- ' ' $rest)
end

function __nsrun_sandbox_options
        set -l when $argv[1]
        complete -c nsrun -n $when -l root-dir -r -a '(__fish_complete_directories)' -d 'the project directory, overlaid'
        complete -c nsrun -n $when -l keep-writes -r -a '(__fish_complete_directories)' -d 'keep what the command wrote in DIR'
        complete -c nsrun -n $when -l rw -r -F -d 'share PATH with the host, writable'
        complete -c nsrun -n $when -l overlay -r -F -d 'overlay PATH too, writes private'
        complete -c nsrun -n $when -l tmpfs -r -F -d 'an empty private tmpfs on PATH'
        complete -c nsrun -n $when -l no-home -d 'do not overlay $HOME'
        complete -c nsrun -n $when -l net -x -a 'loopback host' -d 'the network'
end

complete -c nsrun -f

# commands
complete -c nsrun -n __nsrun_no_verb -a exec -d 'run one command in one sandbox'
complete -c nsrun -n __nsrun_no_verb -a xdist -d 'run pytest-xdist with sandboxed workers'
complete -c nsrun -n __nsrun_no_verb -a merge -d 'combine the reports of --shard runs'
complete -c nsrun -n __nsrun_no_verb -a doctor -d 'check what this machine allows'
complete -c nsrun -n __nsrun_no_verb -a clean -d 'remove what killed runs left'
complete -c nsrun -n __nsrun_no_verb -a help -d 'show the help'

# nsrun [OPTIONS] -- COMMAND
complete -c nsrun -n __nsrun_no_verb -s j -l jobs -x -d 'at most N workers'
complete -c nsrun -n __nsrun_no_verb -l mem-per-worker -x -a 'auto 512M 1G 2G 4G 8G' -d 'cap each job at SIZE'
complete -c nsrun -n __nsrun_no_verb -l mem-reserve -x -a '10% 20% 1G 2G' -d 'memory kept back from tests'
complete -c nsrun -n __nsrun_no_verb -l pids-max -x -d 'at most N processes per job'
complete -c nsrun -n __nsrun_no_verb -l cpus-per-job -x -d 'the CPUs each job is told it has'
complete -c nsrun -n __nsrun_no_verb -l mem-cap -x -a off -d 'run where memory cannot be capped'
complete -c nsrun -n __nsrun_no_verb -l shard -x -a auto -d 'run only share K of N (K/N)'
complete -c nsrun -n __nsrun_no_verb -l dry-run -d 'print the plan and run nothing'
complete -c nsrun -n __nsrun_no_verb -l dist -x -a 'loadfile test' -d 'how pytest is split into jobs'
complete -c nsrun -n __nsrun_no_verb -l fork -x -a 'auto on off' -d 'pytest: fork each job from a prepared interpreter'
complete -c nsrun -n __nsrun_no_verb -l batch -x -a 'auto off' -d 'pytest: several files per job, N jobs in all'
complete -c nsrun -n __nsrun_no_verb -l serial -x -d 'jobs matching GLOB run alone, after the rest'
complete -c nsrun -n __nsrun_no_verb -l jobs-file -r -F -d 'one shell command per line'
complete -c nsrun -n __nsrun_no_verb -l setup -x -d 'run the shell command CMD once, before anything else'
complete -c nsrun -n __nsrun_no_verb -l timeout -x -a '30s 5m 10m 30m 1h' -d 'stop a job after DURATION'
complete -c nsrun -n __nsrun_no_verb -l timeout-grace -x -a '0 5s 10s 30s' -d 'SIGKILL a timed-out job this much after SIGTERM'
complete -c nsrun -n __nsrun_no_verb -l retries -x -d 'rerun a failed job up to N times'
complete -c nsrun -n __nsrun_no_verb -l flaky-fails -d 'count flaky jobs as failures'
complete -c nsrun -n __nsrun_no_verb -l repeat -x -d 'run every job N times'
complete -c nsrun -n __nsrun_no_verb -s x -l exitfirst -d 'start no new job after the first failure'
complete -c nsrun -n __nsrun_no_verb -l junit -r -F -d 'one merged JUnit XML report'
complete -c nsrun -n __nsrun_no_verb -l json -r -F -d 'a JSON report'
complete -c nsrun -n __nsrun_no_verb -l halt -x -a 'never soon,fail=1 now,fail=1' -d 'stop after N failed jobs'
complete -c nsrun -n __nsrun_no_verb -s q -l quote -d "put arguments into a shell's -c script unquoted"
complete -c nsrun -n __nsrun_no_verb -l joblog -r -F -d "GNU parallel's job log"
complete -c nsrun -n __nsrun_no_verb -s k -l keep-order -d "print each job's line in input order"
complete -c nsrun -n __nsrun_no_verb -l slow-timeout -x -a "30s 60s 5m off" -d "print SLOW for a job each time it has run this long"
complete -c nsrun -n __nsrun_no_verb -l success-output -d "show a passing job's output too"
complete -c nsrun -n __nsrun_no_verb -l no-capture -d "show each job's output as it runs (implies -j 1)"
complete -c nsrun -n __nsrun_no_verb -l color -x -a "auto always never" -d "colour the status words"
complete -c nsrun -n __nsrun_no_verb -l log-dir -r -a '(__fish_complete_directories)' -d "each job's output"
complete -c nsrun -n __nsrun_no_verb -s h -l help -d 'show the help'
complete -c nsrun -n __nsrun_no_verb -s V -l version -d 'show the version and the features built in'
__nsrun_sandbox_options __nsrun_no_verb

# nsrun xdist [OPTIONS] -- pytest [ARG...]
__nsrun_sandbox_options '__nsrun_verb_is xdist'
complete -c nsrun -n '__nsrun_verb_is xdist' -s j -l jobs -x -d 'at most N workers'
complete -c nsrun -n '__nsrun_verb_is xdist' -l mem-per-worker -x -a '512M 1G 2G 4G 8G' -d 'cap each worker at SIZE'
complete -c nsrun -n '__nsrun_verb_is xdist' -l mem-reserve -x -a '10% 20% 1G 2G' -d 'memory kept back from tests'
complete -c nsrun -n '__nsrun_verb_is xdist' -l pids-max -x -d 'at most N processes per worker'
complete -c nsrun -n '__nsrun_verb_is xdist' -l mem-cap -x -a off -d 'run where memory cannot be capped'
complete -c nsrun -n '__nsrun_verb_is xdist' -l dry-run -d 'print the sizing and the pytest command'
complete -c nsrun -n '__nsrun_verb_is xdist' -s h -l help -d 'show the help'

# nsrun exec [OPTIONS] -- COMMAND
__nsrun_sandbox_options '__nsrun_verb_is exec'
complete -c nsrun -n '__nsrun_verb_is exec' -l mem -x -a '256M 512M 1G 2G 4G' -d 'cap the memory at SIZE'
complete -c nsrun -n '__nsrun_verb_is exec' -l pids-max -x -d 'at most N processes and threads'
complete -c nsrun -n '__nsrun_verb_is exec' -l mem-cap -x -a off -d 'with --pids-max: cap only processes'
complete -c nsrun -n '__nsrun_verb_is exec' -s h -l help -d 'show the help'

# nsrun merge [OPTIONS] REPORT...
complete -c nsrun -n '__nsrun_verb_is merge' -F
complete -c nsrun -n '__nsrun_verb_is merge' -l json -r -F -d 'one JSON report'
complete -c nsrun -n '__nsrun_verb_is merge' -l junit -r -F -d 'one JUnit report'
complete -c nsrun -n '__nsrun_verb_is merge' -l history -r -a '(__fish_complete_directories)' -d 'keep the times in DIR/history.json'
complete -c nsrun -n '__nsrun_verb_is merge' -s h -l help -d 'show the help'

# nsrun doctor, nsrun clean
complete -c nsrun -n '__nsrun_verb_is doctor' -l json -d 'print one JSON object'
complete -c nsrun -n '__nsrun_verb_is doctor' -s h -l help -d 'show the help'
complete -c nsrun -n '__nsrun_verb_is clean' -l root-dir -r -a '(__fish_complete_directories)' -d 'the project directory'
complete -c nsrun -n '__nsrun_verb_is clean' -s h -l help -d 'show the help'

# after '--': a command line of its own
complete -c nsrun -n __nsrun_after_dashdash -a '(__nsrun_complete_command)'
