# tcp-hoard.py MIB: hold MIB MiB in loopback TCP buffers, or as much as the kernel lets this process: a server and
# a client in the same process, 64 connections with 4 MiB buffers, the client sending without the server ever
# reading. Prints "queued N MiB": what the senders' (SIOCOUTQ) and receivers' (SIOCINQ) queues hold at the end,
# payload only (the kernel's memory for it is more). Used by test-escape.sh and tests/vm/cases/.
import fcntl, socket, struct, sys, time

SIOCINQ, SIOCOUTQ = 0x541B, 0x5411
want, conns = int(sys.argv[1]) << 20, 64


def queue(s, request):
    return struct.unpack("i", fcntl.ioctl(s, request, bytes(4)))[0]


srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(conns)
pairs = []
for _ in range(conns):
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    c.connect(srv.getsockname())
    a = srv.accept()[0]
    a.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    c.setblocking(False)
    pairs.append((c, a))


def queued():
    return sum(queue(c, SIOCOUTQ) + queue(a, SIOCINQ) for c, a in pairs)


chunk, end, stalls = bytes(1 << 20), time.time() + 30, 0
while time.time() < end and queued() < want and stalls < 5:  # five rounds without progress: refused
    moved = 0
    for c, _ in pairs:
        try:
            moved += c.send(chunk)
        except (BlockingIOError, ConnectionError):
            pass
    stalls = 0 if moved else stalls + 1
    if not moved:
        time.sleep(0.2)
print("queued %d MiB" % (queued() >> 20), flush=True)
