#!/bin/bash
# 20-socket-memory: cgroup v2 charges a job's socket buffers to its memory cap. A job hoarding loopback TCP
# buffers (a server that never reads, many connections, large buffers: tests/integration/tcp-hoard.py) is held
# to its --mem or killed for memory, as test-escape.sh shows for cgroup v1 (where nsrun must set
# memory.kmem.tcp.limit_in_bytes). The VM has 2 GiB, so the kernel's own limit on all TCP memory
# (net.ipv4.tcp_mem, about 3/32 of memory) stops even an uncapped job at some 50 MiB of payload: the cap here is
# 32 MiB, and the same job without hoarding shows that its sockets and interpreter alone fit in it.
set -u
fail=0
PY=/usr/bin/python3
NSRUN=${NSRUN:-/src/build/nsrun}
expect() {      # expect NAME GOT REGEX
        if printf '%s' "$2" | grep -Eq -- "$3"; then echo "ok   $1"; else
                echo "FAIL $1"; printf 'got:  %s\nwant: /%s/\n' "$2" "$3" | sed 's/^/       /'; fail=1
        fi
}
hoard=$(cat "${NSRUN_SRC:-/src}/tests/integration/tcp-hoard.py") || exit 1
queued() { printf '%s\n' "$1" | sed -n 's/^queued \([0-9]*\) MiB$/\1/p'; }
cd "${NSRUN_SCRATCH:?}" || exit 1
echo "user $(id -un), net.ipv4.tcp_mem = $(cat /proc/sys/net/ipv4/tcp_mem)"

out=$("$NSRUN" exec -- $PY -c "$hoard" 160 2>&1)
echo "uncapped: $out"
q=$(queued "$out")
expect "uncapped, the job queues more than 32 MiB in loopback TCP buffers (the attack is real)" \
        "$([ "${q:-0}" -gt 32 ] && echo yes || echo "${q:-?} MiB")" '^yes$'
out=$("$NSRUN" exec --mem 32M -- $PY -c "$hoard" 0 2>&1); rc=$?
expect "under --mem 32M the same job queueing nothing runs (its interpreter and sockets fit)" "$rc $out" \
        '^0 queued 0 MiB$'

out=$("$NSRUN" exec --mem 32M -- $PY -c "$hoard" 160 2>&1); rc=$?
echo "--mem 32M: exit $rc: $out"
q=$(queued "$out")
expect "under --mem 32M the job holds at most its cap in TCP buffers, or is killed for memory" \
        "$([ "$rc" = 137 ] || { [ "$rc" = 0 ] && [ "${q:-999}" -le 32 ]; } && echo held || echo "exit $rc, ${q:-?} MiB")" \
        '^held$'

out=$("$NSRUN" doctor 2>&1)
expect "nsrun doctor: socket buffers count against the cap" "$out" '^ok +socket-memory +'
exit $fail
