# status-pty.py COLS NEWCOLS OUT -- ARGV...: runs ARGV with its standard error on a pseudo-terminal COLS columns
# wide (standard output to the file OUT); half a second after a status line first names a running job, resizes the
# terminal to NEWCOLS, which makes the kernel send SIGWINCH to it. Prints what was drawn, line by line (split at
# CR and LF, erase-line sequences left out), each with its width in display columns (East Asian wide characters
# two, combining ones none), as JSON: {"before": [[LINE, COLUMNS], ...], "after": [...]}, around the resize.
import fcntl, json, os, pty, select, struct, sys, termios, time, unicodedata
cols, newcols, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
argv = sys.argv[5:]
def winsize(fd, c):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, c, 0, 0))
pid, master = pty.fork()
if pid == 0:
    winsize(0, cols)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.execvp(argv[0], argv)
data, mark = b"", None
while True:
    r, _, _ = select.select([master], [], [], 0.1)
    if r:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    if mark is None and b"running: " in data:
        time.sleep(0.5)
        while select.select([master], [], [], 0)[0]:
            data += os.read(master, 65536)
        mark = len(data)
        winsize(master, newcols)
os.waitpid(pid, 0)
def columns(s):
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)
def lines(b):
    t = b.decode("utf-8", "replace").replace("\x1b[K", "")
    return [(l, columns(l)) for l in t.replace("\n", "\r").split("\r") if l]
print(json.dumps({"before": lines(data[:mark or len(data)]), "after": lines(data[mark or len(data):])}, ensure_ascii=False))
