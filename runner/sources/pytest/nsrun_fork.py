# SPDX-License-Identifier: LGPL-2.1-or-later
"""nsrun's prepared interpreter: start-up paid once per worker, each job forked into a sandbox of its own.

nsrun starts this in a sandbox of the run (as any job: overlay over the project, private /tmp, loopback-only
network, its PID, IPC and UTS namespaces, the seccomp filter), one per worker, as
'python -m nsrun_fork PYTEST-ARGS...', with a SOCK_SEQPACKET control socket on its stdin. It runs pytest's
collection (pytest, its plugins, the conftest files and the test modules imported, the tests collected; with
NSRUN_COLLECT_OUT set, as for the first worker's, the collection's report written for the run; with
NSRUN_FORK_COLLECT=conftests, the conftest files only, each job then collecting its own files), then, where
pytest's main loop would run the tests, says "ready" (or, where forking is not safe, "unsafe REASON") and
waits.

For each job nsrun sends a JSON request and three descriptors (a socket of the job's own, its log, /dev/null).
This process forks the job (J), which:
1. says hello on the job's socket: the kernel attaches J's pid (SO_PASSCRED, SCM_CREDENTIALS; nothing in the
   sandbox can forge it), nsrun moves J into the job's cgroup and answers "go" only then, before any test runs;
2. unshares new mount, network, IPC, UTS and PID namespaces (rootless: in a new user namespace of its own,
   mapping only its uid and gid, as the sandbox does; as root: in the sandbox's, whose capabilities it holds) and
   joins a new session keyring;
3. remakes the sandbox's mounts: a new overlay with a fresh upper layer over each overlaid path (the project,
   $HOME: what the prepared interpreter sees there is the lower layer), fresh empty /tmp, /var/tmp, /run and
   --tmpfs paths, the --rw and read-only binds again where an overlay covered them, and its own attempt directory
   (the one path of the run it may write), and brings its loopback up;
4. forks P1, PID 1 of the new PID namespace, which mounts a /proc of that namespace (writable: the kernel lets
   a user namespace mount one only where one like it is in the mount namespace whole already, the one nsrun
   mounted for this, hidden, under /tmp/.nsrun-fork), covers its knobs read-only and shows the job's machine
   (/proc/meminfo), as a fresh sandbox's, and forks P2, which runs the job's tests in the session this process
   collected (with the job's environment, directory and log), as pytest-forked runs a test. As root P2 first
   gets a user namespace nested in J's, so that J's mounts are locked for it, as the sandbox's are for its
   command; rootless it drops the capabilities its own user namespace gave it.
P1 reaps and passes signals on; J waits for it and reports P2's exit status or signal to nsrun on the job's
socket, in the layout of the sandbox's report (sandbox-internal.h's SandboxReport).

The job so inherits the prepared interpreter's memory: modules as after their import (and their collection),
not a test's state, since no test ran in it. See docs/design.md, "Prepared interpreters".
"""

import atexit
import ctypes
import errno
import fcntl
import gc
import importlib
import importlib.util
import json
import os
import signal
import socket
import stat
import struct
import sys
import tempfile
import threading
import warnings

import pytest

# <sched.h>, <sys/mount.h>, <linux/sched.h>
CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
PR_SET_PDEATHSIG = 1
KEYCTL_JOIN_SESSION_KEYRING = 1
SYS_KEYCTL = {"x86_64": 250, "aarch64": 219}.get(os.uname().machine)
SYS_CAPSET = {"x86_64": 126, "aarch64": 91}[os.uname().machine]
CAP_SYS_ADMIN = 21
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1

# SandboxReport (sandbox/sandbox-internal.h): outcome, code, error, step, detail[512]
REPORT = struct.Struct("iiii512s")
SANDBOX_EXITED, SANDBOX_SIGNALED, SANDBOX_SETUP_FAILED = 0, 1, 2
# SandboxStep values nsrun names a failure by (sandbox.h)
STEP_NAMES = {"userns": 2, "overlay": 7, "bind": 8, "tmpfs": 9, "proc": 11, "netns": 12, "loopback": 13,
              "restrict": 14}

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.unshare.argtypes = [ctypes.c_int]


class SetupError(Exception):
    def __init__(self, step, err, detail):
        super().__init__(detail)
        self.step, self.err, self.detail = step, err, detail


def _check(ret, step, detail):
    if ret < 0:
        e = ctypes.get_errno()
        raise SetupError(step, e, detail)


def _b(s):
    return s.encode() if isinstance(s, str) else s


def _mount(source, target, fstype, flags, data, step):
    _check(_libc.mount(_b(source), _b(target), _b(fstype), flags, _b(data)), step, target)


def _has_cap_sys_admin():
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> CAP_SYS_ADMIN & 1)
    return False


def _write(path, text):
    with open(path, "w", encoding="ascii") as f:
        f.write(text)


def _drop_capabilities():
    """Rootless, the job holds every capability in the user namespace it made: a fresh sandbox's command has
    none (execve() as the caller's uid clears them), and a test that expects EACCES on a file it made 0400 must
    see it here too. The bounding set is empty already (the sandbox's); this empties the rest (capset(2))."""
    header = struct.pack("Ii", 0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
    data = ctypes.create_string_buffer(24)     # two __user_cap_data_struct, all zero
    if _libc.syscall(SYS_CAPSET, ctypes.c_char_p(header), data) < 0:
        raise OSError(ctypes.get_errno(), "capset")


def _new_namespaces(net):
    """The job's namespaces; rootless, a user namespace of its own first, mapping its uid and gid only. Returns
    whether it made one."""
    flags = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID | (CLONE_NEWNET if net == "loopback" else 0)
    own_userns = not _has_cap_sys_admin()
    uid, gid = os.geteuid(), os.getegid()
    _check(_libc.unshare(flags | (CLONE_NEWUSER if own_userns else 0)), STEP_NAMES["netns"], "unshare")
    if own_userns:
        try:
            _write("/proc/self/setgroups", "deny")
            _write("/proc/self/uid_map", "%d %d 1\n" % (uid, uid))
            _write("/proc/self/gid_map", "%d %d 1\n" % (gid, gid))
        except OSError as e:
            raise SetupError(STEP_NAMES["userns"], e.errno or errno.EIO, "/proc/self/uid_map") from None
    if SYS_KEYCTL is not None and _libc.syscall(SYS_KEYCTL, KEYCTL_JOIN_SESSION_KEYRING, None) < 0:
        if ctypes.get_errno() not in (errno.ENOSYS, errno.EPERM):
            raise SetupError(STEP_NAMES["restrict"], ctypes.get_errno(), "a session keyring")
    return own_userns


def _depth(path):
    return len([p for p in path.split("/") if p])


def _remount(req):
    """The sandbox's mounts again, fresh where they hold writes: a new overlay over each overlaid path whose lower
    layer is the host's directory (as a fresh sandbox's; the prepared interpreter's sandbox shows it, read-only,
    under /tmp/.nsrun-fork), or the prepared interpreter's own view of it where its collection wrote files
    (_INHERIT), fresh scratch directories (or, likewise, overlays over its own), the sandbox's binds again. Every
    source is opened before anything is mounted: a new overlay over the project covers the binds inside it, and
    the new /tmp what was there. Returns the staging tmpfs, where the job's /proc files are made."""
    mounts = sorted((m for m in req["mounts"] if m[0] != "view"), key=lambda m: _depth(m[1]))
    views = {m[1]: m[2] for m in req["mounts"] if m[0] == "view" and m[1] in _INHERIT_SCRATCH}
    fds = {}
    for m in mounts:
        if m[0] == "overlay":
            fds[m[1]] = os.open(m[3] if _INHERIT else m[2], os.O_PATH | os.O_CLOEXEC | os.O_DIRECTORY)
        elif m[0] == "bind":
            fds[m[1]] = os.open(m[1], os.O_PATH | os.O_CLOEXEC)
    view_fds = {path: os.open(view, os.O_PATH | os.O_CLOEXEC | os.O_DIRECTORY) for path, view in views.items()}
    dir_fd = os.open(req["fork_dir"] + req["fork_name"], os.O_PATH | os.O_CLOEXEC | os.O_DIRECTORY)
    _mount(None, "/", None, MS_REC | MS_PRIVATE, None, STEP_NAMES["bind"])
    # The staging tmpfs: upper layers and scratch directories, covered by the new /tmp and reached by a
    # descriptor, as the sandbox's own (sandbox-mount.c)
    _mount("nsrun-job", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700", STEP_NAMES["tmpfs"])
    staging = os.open("/tmp", os.O_PATH | os.O_CLOEXEC | os.O_DIRECTORY)
    scratch = ["/tmp", "/var/tmp"] + (["/run"] if req["net"] == "loopback" else [])
    old_umask = os.umask(0)

    def fresh_dir(name, path):
        os.mkdir(name, 0o1777, dir_fd=staging)
        _mount("/proc/self/fd/%d/%s" % (staging, name), path, None, MS_BIND, None, STEP_NAMES["tmpfs"])

    def overlay(name, lower_fd, path, hide=None):
        st = os.fstat(lower_fd)
        upper, work = "upper." + name, "work." + name
        os.mkdir(upper, stat.S_IMODE(st.st_mode), dir_fd=staging)
        os.mkdir(work, 0o700, dir_fd=staging)
        if os.geteuid() == 0 and (st.st_uid, st.st_gid) != (0, 0):
            os.chown(upper, st.st_uid, st.st_gid, dir_fd=staging)
        if hide:  # a whiteout: what the lower layer has there is not in the overlay
            os.mknod(upper + "/" + hide, stat.S_IFCHR, os.makedev(0, 0), dir_fd=staging)
        options = "lowerdir=/proc/self/fd/%d,upperdir=/proc/self/fd/%d/%s,workdir=/proc/self/fd/%d/%s," \
                  "userxattr" % (lower_fd, staging, upper, staging, work)
        _mount("overlay", path, "overlay", MS_NOSUID | MS_NODEV, options, STEP_NAMES["overlay"])

    try:
        for i, path in enumerate(scratch):
            if path in view_fds:  # the prepared interpreter's /tmp but for its own directory there
                overlay("scratch.%d" % i, view_fds[path], path, ".nsrun-fork" if path == "/tmp" else None)
            elif os.path.isdir(path):
                fresh_dir("scratch.%d" % i, path)
        for i, m in enumerate(mounts):
            kind, path = m[0], m[1]
            os.makedirs(path, exist_ok=True)
            if kind == "overlay":
                overlay(str(i), fds[path], path)
            elif kind == "tmpfs":
                fresh_dir("tmpfs.%d" % i, path)
            else:
                _mount("/proc/self/fd/%d" % fds[path], path, None, MS_BIND | MS_REC, None, STEP_NAMES["bind"])
        # the attempt's directory, the one path of the run the job writes, where nsrun reads its reports
        try:
            os.makedirs(req["dir"], exist_ok=True)
        except OSError as e:
            if e.errno != errno.EROFS:
                raise
            fresh_dir("run", os.path.dirname(req["dir"]))
            os.mkdir(req["dir"], 0o755)
        _mount("/proc/self/fd/%d" % dir_fd, req["dir"], None, MS_BIND, None, STEP_NAMES["bind"])
    except OSError as e:
        raise SetupError(STEP_NAMES["bind"], e.errno or errno.EIO, getattr(e, "filename", None) or "/") from None
    finally:
        os.umask(old_umask)
    for fd in list(fds.values()) + list(view_fds.values()) + [dir_fd]:
        os.close(fd)
    return staging


def _loopback_up():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        ifr = fcntl.ioctl(s, SIOCGIFFLAGS, struct.pack("16sH22x", b"lo", 0))
        flags = struct.unpack("16sH22x", ifr)[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | IFF_UP))
    except OSError as e:
        raise SetupError(STEP_NAMES["loopback"], e.errno or errno.EIO, "lo") from None
    finally:
        s.close()


def _report(sock, outcome, code=0, err=0, step=0, detail=""):
    try:
        sock.send(REPORT.pack(outcome, code, err, step, _b(detail)[:511]))
    except OSError:
        pass


_FORWARDED = (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2,
              signal.SIGALRM, signal.SIGCONT)


def _forward_to(pid):
    def handler(sig, frame):
        try:
            os.kill(pid, sig)
        except OSError:
            pass

    for sig in _FORWARDED:
        signal.signal(sig, handler)


def _run_pytest(req, log_fd, null_fd, session):
    """P2: the job's pytest, in this interpreter: its tests run in the session prepared before the fork (taken from
    its collection, or collected here where it imported the conftest files only), or, where the session holds
    something else than the job's files, pytest.main() on the job's arguments."""
    if req["own_userns"]:
        _drop_capabilities()
    for sig in _FORWARDED:
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    os.setsid()
    _own_descriptors(null_fd, log_fd)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    os.close(null_fd)
    os.environ.clear()
    os.environ.update(dict(e.split("=", 1) for e in req["env"] if "=" in e))
    os.environ["NSRUN_SANDBOX"] = "1"
    try:
        os.chdir(req["cwd"])
    except OSError:
        os._exit(125)
    args = req["argv"][req["start"]:]
    sys.argv = [req["argv"][0]] + args
    _reseed()
    tests = req.get("tests") or []
    items = _select(session, tests, req["cwd"])
    if session is not None and tests and (items is not None or _CONFTESTS_ONLY):
        code = _run_items(session, items, tests, args)
    else:
        # nsrun's plugin reads its output paths from the environment at import: imported anew, for this job
        sys.modules.pop("nsrun_pytest", None)
        try:
            code = int(pytest.main(args))
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        except BaseException:  # what pytest itself would print and exit 1 for, in a fresh interpreter
            import traceback

            traceback.print_exc()
            code = 1
    # What a fresh interpreter does at its exit: wait for the threads a test left running (not daemons), run the
    # atexit functions (a test's, and those the modules registered at their import), flush
    try:
        threading._shutdown()
    except Exception:
        pass
    try:
        atexit._run_exitfuncs()
    except BaseException:
        pass
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        pass
    os._exit(code)


def _private_copy(fd):
    """A new unlinked file in the job's /tmp with fd's content and offset (and O_APPEND), as fd's replacement."""
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    try:
        new = os.open("/tmp", os.O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, 0o600)
    except OSError as e:  # an overlay /tmp (_INHERIT) before Linux 6.6: a named file, unlinked at once
        if e.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
            raise
        new, name = tempfile.mkstemp(dir="/tmp")
        os.unlink(name)
    offset = os.lseek(fd, 0, os.SEEK_CUR)
    size = os.fstat(fd).st_size
    done = 0
    while done < size:
        n = os.sendfile(new, fd, done, size - done)
        if n == 0:
            break
        done += n
    os.lseek(new, offset, os.SEEK_SET)
    fcntl.fcntl(new, fcntl.F_SETFL, flags & os.O_APPEND)
    return new


def _own_descriptors(null_fd, log_fd):
    """The descriptors this job inherited from the prepared interpreter, made its own: stdin /dev/null, stdout the
    job's log, and every other descriptor open on the interpreter's log (the copies pytest's capture keeps to put
    the output back after each test, faulthandler's) the job's log too; every one open on an unlinked file (a
    temporary file of the interpreter's: pytest's capture files, a module's TemporaryFile) a private copy in the
    job's /tmp, as a fresh interpreter would have made its own: shared, what one job wrote there after its last
    read (a process it left writing to its captured output) would be the next job's of the worker."""
    try:
        log = os.fstat(1)
    except OSError:
        log = None
    log = (log.st_dev, log.st_ino) if log is not None and stat.S_ISREG(log.st_mode) else None
    copies = {}
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd in (0, 1, null_fd, log_fd):
            continue
        try:
            st = os.fstat(fd)
        except OSError:
            continue
        key = (st.st_dev, st.st_ino)
        if key == log:
            new = log_fd
        elif stat.S_ISREG(st.st_mode) and st.st_nlink == 0:
            if key not in copies:
                copies[key] = _private_copy(fd)
            new = copies[key]
        else:
            continue
        os.dup2(new, fd, inheritable=os.get_inheritable(fd))
    for new in copies.values():
        os.close(new)
    os.dup2(null_fd, 0)
    os.dup2(log_fd, 1)


def _reseed():
    """A fresh interpreter seeds numpy's global generator from the system's entropy when numpy is imported; the
    prepared interpreter's was seeded once for every job forked from it (random's is reseeded by os.fork())."""
    nprandom = sys.modules.get("numpy.random")
    try:
        if nprandom is not None:
            nprandom.seed()
    except Exception:
        pass


_INDEX = {}  # the prepared session's items: absolute file path -> [(suffix, item)], in collection order


def _index(session):
    from nsrun_pytest import _item_path, _suffix

    for item in session.items:
        _INDEX.setdefault(_item_path(item), []).append((_suffix(item.nodeid), item))


def _select(session, tests, cwd):
    """The prepared session's items for the job's arguments (files, or ids 'file::rest'), in their order; None
    when one is not among them (the prepared interpreter collected the conftest files only, or something else:
    the job collects its files itself)."""
    if session is None or not tests or not _INDEX:
        return None
    items, seen = [], set()
    for arg in tests:
        path, sep, rest = arg.partition("::")
        found = _INDEX.get(os.path.normpath(os.path.join(cwd, path)))
        matched = [item for suffix, item in found or () if not sep or suffix == "::" + rest]
        if not matched:
            return None
        for item in matched:
            if id(item) not in seen:
                seen.add(id(item))
                items.append(item)
    return items


def _last_option(args, name):
    value = None
    for i, a in enumerate(args):
        if a == "--":
            break
        if a.startswith(name + "="):
            value = a[len(name) + 1 :]
        elif a == name and i + 1 < len(args):
            value = args[i + 1]
    return value


def _fresh_reports(config, junit):
    """pytest's reporters as in a session that has collected and run nothing: the job's own counts, times and
    JUnit document (at the path its arguments name, in the attempt's directory), not what the prepared session
    saw (the collection's skipped modules)."""
    from _pytest import timing

    tr = config.pluginmanager.get_plugin("terminalreporter")
    if tr is not None:
        tr.stats = {}
        tr._sessionstarttime = timing.time()
        tr.currentfspath = None
    try:
        from _pytest.junitxml import xml_key

        xml = config.stash.get(xml_key, None)
    except ImportError:
        xml = None
    if xml is not None:
        xml.logfile = os.path.normpath(os.path.abspath(junit)) if junit else os.devnull
        xml.stats = dict.fromkeys(["error", "passed", "failure", "skipped"], 0)
        xml.node_reporters = {}
        xml.node_reporters_ordered = []
        xml.global_properties = []
        xml.open_reports = []
        xml.cnt_double_fail_tests = 0
        xml.suite_start_time = timing.time()


def _collect(session, tests, args):
    """The job's files or ids collected in the prepared session, as a fresh pytest of the job's arguments would
    collect them (the conftest files are imported already): its items, after pytest's and the plugins' selection
    (-k, -m, --lf). Raises what pytest's collection raises; session.Interrupted for collection errors."""
    config = session.config
    for plugin in _CONFTESTS_ONLY:
        config.pluginmanager.unregister(plugin)
    _CONFTESTS_ONLY.clear()
    # the names pytest gives the tests of an installed package's files (--pyargs), which the job's arguments say
    config.option.nsrun_nodeid_root = [a.split("=", 1)[1] for a in args if a.startswith("--nsrun-nodeid-root=")]
    items = list(session.perform_collect(tests))
    if session.testsfailed and not config.option.continue_on_collection_errors:
        raise session.Interrupted("%d error%s during collection" % (session.testsfailed,
                                                                   "s" if session.testsfailed != 1 else ""))
    return items


def _run_items(session, items, tests, args):
    """The job's tests in the prepared session (items, or None: collected here first), as pytest's main loop runs
    them, then the session's end and pytest's unconfigure, as pytest.main() does; pytest's exit status."""
    import nsrun_pytest

    config = session.config
    _fresh_reports(config, _last_option(args, "--junitxml"))
    session.testsfailed = 0
    session.shouldfail = session.shouldstop = False
    try:
        if items is None:  # the plugin's collection end writes the job's tests, as in a fresh pytest
            nsrun_pytest.job_begin(session, collected=False)
            items = _collect(session, tests, args)
        else:
            session.items = items
            nsrun_pytest.job_begin(session)
        session.testscollected = len(items)
        for i, item in enumerate(items):
            nextitem = items[i + 1] if i + 1 < len(items) else None
            item.config.hook.pytest_runtest_protocol(item=item, nextitem=nextitem)
            if session.shouldfail:
                raise session.Failed(session.shouldfail)
            if session.shouldstop:
                raise session.Interrupted(session.shouldstop)
        code = pytest.ExitCode.TESTS_FAILED if session.testsfailed else \
            pytest.ExitCode.NO_TESTS_COLLECTED if not items else pytest.ExitCode.OK
    except session.Failed:
        code = pytest.ExitCode.TESTS_FAILED
    except pytest.UsageError as e:
        for line in e.args:
            sys.stderr.write("ERROR: %s\n" % line)
        code = pytest.ExitCode.USAGE_ERROR
    except (KeyboardInterrupt, session.Interrupted, pytest.exit.Exception) as e:
        code = getattr(e, "returncode", None) or pytest.ExitCode.INTERRUPTED
        # as pytest's wrap_session(): the terminal's summary says why ("Interrupted: ...")
        config.hook.pytest_keyboard_interrupt(excinfo=pytest.ExceptionInfo.from_current())
    except BaseException:
        import traceback

        traceback.print_exc()
        code = pytest.ExitCode.INTERNAL_ERROR
    session.exitstatus = code
    try:
        config.hook.pytest_sessionfinish(session=session, exitstatus=code)
        config._ensure_unconfigure()
    except BaseException:
        import traceback

        traceback.print_exc()
        code = pytest.ExitCode.INTERNAL_ERROR
    return int(code)


# The kernel's knobs under /proc, read-only as in a fresh sandbox (sandbox-mount.c's setup_proc()): as root a
# job's uid 0 is the host's, which proc_sys_permission() lets write by mode bits alone, and /proc/sysrq-trigger
# checks no capability at all.
PROC_READONLY = ("/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs")


def _bind_readonly(source, target):
    _mount(source, target, None, MS_BIND | MS_REC, None, STEP_NAMES["proc"])
    _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, None,
           STEP_NAMES["proc"])


def _setup_proc(req, staging):
    """The job's /proc, of its PID namespace, writable as a fresh sandbox's (a test may write /proc/self/...),
    its knobs read-only, and the machine it sees: /proc/meminfo of its cap, /proc/swaps with no swap."""
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None, STEP_NAMES["proc"])
    for path in PROC_READONLY:
        if os.path.lexists(path):
            _bind_readonly(path, path)
    files = {}
    if req.get("meminfo"):
        files["meminfo"] = req["meminfo"]
        with open("/proc/swaps", encoding="ascii") as f:
            lines = f.read().split("\n")
        if len([line for line in lines if line]) > 1:
            files["swaps"] = lines[0] + "\n"
    for name, text in files.items():
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444, dir_fd=staging)
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)
        _bind_readonly("/proc/self/fd/%d/%s" % (staging, name), "/proc/" + name)


def _never_return(fn, *args):
    """fn(*args) in a process forked here, which ends in it: an exception escaping it would unwind into the
    prepared interpreter's own pytest session, which would end as if it had run no test (exit 0: a job that
    passed). It ends the process instead, 125 (could not run the command), its traceback in the job's log."""
    try:
        fn(*args)
    except BaseException:
        import traceback

        try:
            os.write(2, ("nsrun: the job could not start its tests:\n" + traceback.format_exc()).encode())
        except BaseException:
            pass
    os._exit(125)


def _pid1(req, log_fd, null_fd, status_w, session, staging):
    """P1: PID 1 of the job's PID namespace: its /proc, then pytest in P2; reaps, passes signals on, and
    writes P2's wait status to J."""
    libc_prctl = _libc.prctl
    libc_prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    # the sandbox's /proc, writable where a process's maps are, before the job's covers it
    old_proc = os.open("/proc", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        _setup_proc(req, staging)
    except (SetupError, OSError) as e:
        os.write(status_w, struct.pack("ii", -1, getattr(e, "err", None) or getattr(e, "errno", None) or errno.EIO))
        os._exit(1)
    os.close(staging)
    own_r, own_w = os.pipe2(os.O_CLOEXEC)
    maps_r, maps_w = os.pipe2(os.O_CLOEXEC)
    child = os.fork()
    if child == 0:
        os.close(status_w)
        os.close(own_r)
        os.close(maps_w)
        if not req["own_userns"]:
            # As root, a user namespace nested in the one that owns the job's mounts, as the sandbox gives its
            # command: the mounts are then locked (MNT_LOCKED), and no job can unmount its /tmp or overlays to
            # see the prepared interpreter's beneath. Its identity maps are written by P1, from outside, through
            # the sandbox's /proc, where this process's pid is the one it names itself.
            pid = os.readlink("self", dir_fd=old_proc)
            if _libc.unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0:
                os.write(log_fd, b"nsrun: cannot make the job's user namespace: %s\n"
                         % os.strerror(ctypes.get_errno()).encode())
                os._exit(125)
            os.write(own_w, pid.encode())
            if os.read(maps_r, 1) != b"m":
                os.write(log_fd, b"nsrun: cannot write the job's user namespace's maps\n")
                os._exit(125)
        os.close(own_w)
        os.close(maps_r)
        os.close(old_proc)
        _never_return(_run_pytest, req, log_fd, null_fd, session)
    os.close(own_w)
    os.close(maps_r)
    if not req["own_userns"]:
        try:
            pid = os.read(own_r, 32).decode()
            for kind in ("uid_map", "gid_map"):
                with open("/proc/self/" + kind, encoding="ascii") as f:
                    ranges = [line.split() for line in f if line.strip()]
                fd = os.open("%s/%s" % (pid, kind), os.O_WRONLY | os.O_CLOEXEC, dir_fd=old_proc)
                try:
                    os.write(fd, "".join("%s %s %s\n" % (r[0], r[0], r[2]) for r in ranges).encode())
                finally:
                    os.close(fd)
            os.write(maps_w, b"m")
        except (OSError, ValueError):
            pass
    os.close(maps_w)
    os.close(own_r)
    os.close(old_proc)
    os.close(log_fd)
    os.close(null_fd)
    _forward_to(child)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(1)
        except InterruptedError:
            continue
        if pid == child:
            os.write(status_w, struct.pack("ii", status, 0))
            os._exit(0)


def _job(req, job_sock, log_fd, null_fd, session):
    """J: hello, the go-ahead once in the job's cgroup, the sandbox, then P1; reports P2's end."""
    os.dup2(log_fd, 2)  # what goes wrong here and in P1 and P2 (_never_return()) is in the job's log
    for sig in _FORWARDED:
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    try:
        job_sock.send(b"hello")
        if job_sock.recv(16) != b"go":
            os._exit(1)
        req["own_userns"] = _new_namespaces(req["net"])
        staging = _remount(req)
        if req["net"] == "loopback":
            _loopback_up()
    except SetupError as e:
        _report(job_sock, SANDBOX_SETUP_FAILED, 0, e.err, e.step, e.detail)
        os._exit(1)
    except OSError as e:  # a source of the mounts that could not be opened, the socket
        _report(job_sock, SANDBOX_SETUP_FAILED, 0, e.errno or errno.EIO, STEP_NAMES["bind"], str(e.filename or ""))
        os._exit(1)
    status_r, status_w = os.pipe2(os.O_CLOEXEC)
    p1 = os.fork()
    if p1 == 0:
        os.close(status_r)
        job_sock.close()
        _never_return(_pid1, req, log_fd, null_fd, status_w, session, staging)
    os.close(status_w)
    os.close(log_fd)
    os.close(null_fd)
    os.close(staging)
    _forward_to(p1)
    data = b""
    while len(data) < 8:
        try:
            chunk = os.read(status_r, 8 - len(data))
        except InterruptedError:
            continue
        if not chunk:
            break
        data += chunk
    while True:
        try:
            os.waitpid(p1, 0)
            break
        except InterruptedError:
            continue
        except ChildProcessError:
            break
    if len(data) < 8:  # P1 was killed (the cgroup's out-of-memory killer, SIGKILL): the job with it
        _report(job_sock, SANDBOX_SIGNALED, signal.SIGKILL)
    else:
        status, err = struct.unpack("ii", data)
        if status == -1:
            _report(job_sock, SANDBOX_SETUP_FAILED, 0, err, STEP_NAMES["proc"], "/proc")
        elif os.WIFSIGNALED(status):
            _report(job_sock, SANDBOX_SIGNALED, os.WTERMSIG(status))
        else:
            _report(job_sock, SANDBOX_EXITED, os.WEXITSTATUS(status))
    os._exit(0)


def _staged_inodes():
    """The inodes in use on the sandbox's staging tmpfs, which holds its /tmp, /var/tmp and /run and the upper
    layers of its overlays (the project, $HOME): every file written there takes one, a change to a host file too
    (its copy), a removal too (its whiteout). None where the count is not kept (a tmpfs without an inode limit)."""
    try:
        st = os.statvfs("/tmp")
        dev = os.stat("/tmp").st_dev
    except OSError:
        return None
    if not st.f_files:
        return None
    unlinked = set()  # but for the files open here without a name (pytest's capture files): each job gets copies
    for fd in os.listdir("/proc/self/fd"):
        try:
            fst = os.fstat(int(fd))
        except OSError:
            continue
        if fst.st_dev == dev and fst.st_nlink == 0:
            unlinked.add(fst.st_ino)
    return st.f_files - st.f_ffree - len(unlinked)


def _scratch_entries():
    entries = []
    for d in ("/tmp", "/var/tmp"):
        try:
            entries += [os.path.join(d, n) for n in os.listdir(d)]
        except OSError:
            pass
    return entries


_STAGED = (None, set())  # before pytest started: _staged_inodes(), and what /tmp and /var/tmp held (mount points)
# The collection wrote files (or may have: the count is not kept): each job's overlays and scratch directories
# then start from the prepared interpreter's own (their lower layers its views of them), so that they hold what
# it wrote at import, a directory a test module made, a tempfile.mkdtemp(), a library's cache in $HOME, as a fresh
# job that imported the module itself would; else from the host's, as a fresh job's.
_INHERIT = False
_INHERIT_SCRATCH = set()  # and of those /tmp and /var/tmp, the ones it wrote in (the rest stay plain tmpfs)


def _stackable():
    """Whether a job's overlay can have the prepared interpreter's overlay as its lower layer: overlayfs stacks
    two levels at most, so not where a host directory it overlays is on an overlay itself (a container's root)."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split(" - ", 1)
            if fields[0].split()[4].startswith("/tmp/.nsrun-fork/lower.") and fields[1].split()[0] == "overlay":
                return False
    return True


def _tasks_after_fork():
    """The threads left after one fork() whose child ends at once. A library that stops its threads before each
    fork() and starts them again when next needed leaves none: OpenBLAS's pthreads pool (numpy's, from pip's wheels
    or Debian's libopenblas0-pthread), started at its import wherever a worker's share is more than one CPU, is
    joined by its pthread_atfork() handler, as it will be before each job's fork, and each job that calls BLAS
    starts its own. A thread that runs on past a fork (a Python thread, OpenMP's) would be missing in a job."""
    sys.stdout.flush()
    sys.stderr.flush()
    with warnings.catch_warnings():  # Python 3.12's "multi-threaded, use of fork() may lead to deadlocks"
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return len(os.listdir("/proc/self/task"))


def unsafe_reason():
    """Why forking this interpreter is not safe, or None: a thread started by a plugin or conftest would not
    exist in the child, and a lock it held would stay locked there; a file the collection wrote where a job could
    not start from the prepared interpreter's files (_stackable()) would not be there either, where a fresh job,
    importing the module itself, has it. Sets _INHERIT and _INHERIT_SCRATCH."""
    global _INHERIT, _INHERIT_SCRATCH
    tasks = len(os.listdir("/proc/self/task"))
    if tasks > 1 and threading.active_count() == 1:
        tasks = _tasks_after_fork()
    if threading.active_count() > 1 or tasks > 1:
        names = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
        return "%d threads run in the prepared interpreter after its collection%s" % (
            max(tasks, threading.active_count()), " (%s)" % ", ".join(names[:3]) if names else "")
    wrote = _STAGED[0] is None or _staged_inodes() != _STAGED[0]
    seen = sorted(set(_scratch_entries()) - _STAGED[1])
    _INHERIT = wrote and _stackable()
    _INHERIT_SCRATCH = {os.path.dirname(p) for p in seen} if _INHERIT else set()
    if wrote and not _INHERIT and _STAGED[0] is not None:
        return "the collection wrote files (%s), which a job forked after it would not have on a host whose " \
               "directories are overlays themselves" % (", ".join(seen[:3]) if seen else "in the project or $HOME")
    return None


def serve(ctl, session):
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(ctl, 1 << 20, 4)
        except InterruptedError:
            continue
        except OSError:
            return
        while True:  # the jobs that ended: J reports to nsrun, not here
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break
        if not msg:
            return
        if len(fds) != 3:
            for fd in fds:
                os.close(fd)
            continue
        req = json.loads(msg)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            ctl.close()
            job_sock = socket.socket(fileno=fds[0])
            _never_return(_job, req, job_sock, fds[1], fds[2], session)
        for fd in fds:
            os.close(fd)


def _import_modules(listing):
    """The modules the run's collection imported beyond pytest and its plugins (nsrun_pytest.py's _imports(): a
    JSON list of [name, file]), imported here once for all the jobs of this worker, which collect their own files:
    each where its name still finds that file (a name the collection found through a directory it had put on
    sys.path may find another module here, which must then not be the one the jobs' imports get); one that fails
    is left for the jobs to import, as they would have."""
    try:
        modules = json.loads(listing or "[]")
    except ValueError:
        return
    for name, path in (m for m in modules if isinstance(m, list) and len(m) == 2):
        if not isinstance(name, str) or not isinstance(path, str) or name in sys.modules:
            continue
        try:
            spec = importlib.util.find_spec(name)
            if spec is not None and spec.origin and os.path.abspath(spec.origin) == path:
                importlib.import_module(name)
        except Exception as e:
            print("nsrun: not imported before the jobs: %s (%s: %s)" % (name, type(e).__name__, e), file=sys.stderr)


def _prepared(ctl, session):
    """Collected: the items indexed, "ready" (or why forking is not safe), then jobs until nsrun closes ctl. A
    collection that failed ends here, as pytest would: nsrun collects again to show the errors."""
    if session.testsfailed and not session.config.option.continue_on_collection_errors:
        return None
    _index(session)
    if _CONFTESTS_ONLY:
        _import_modules(os.environ.get("NSRUN_FORK_IMPORT"))
    try:  # what pytest-rerunfailures' pytest_configure imports in each job (pkg_resources, the slowest)
        import pkg_resources  # noqa: F401
    except Exception:
        pass
    sys.stdout.flush()
    sys.stderr.flush()
    reason = unsafe_reason()
    if reason:
        ctl.send(b"unsafe " + reason.encode())
        os._exit(0)
    # Every object so far out of the collector's reach (its permanent generation): a job's collections then never
    # walk them, which would write to each one's header and so copy every page of this interpreter into the job
    # (copy on write); as CPython's documentation of gc.freeze() advises before fork() without exec()
    gc.collect()
    gc.freeze()
    ctl.send(b"ready")
    serve(ctl, session)
    os._exit(0)


class _Prepare:
    """Where pytest's main loop would run the tests, this interpreter forks the jobs, each running its share. With
    NSRUN_COLLECT_OUT set, nsrun's plugin writes the collection's report there first, as the collection does."""

    def __init__(self, ctl):
        self.ctl = ctl

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config):
        # the user's '-n N' is for the whole run: no job here is distributed by pytest-xdist
        if hasattr(config.option, "numprocesses"):
            config.option.numprocesses = None
            config.option.dist = "no"

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session):
        if session.config.option.collectonly:
            return None
        return _prepared(self.ctl, session)


class _ConftestsOnly:
    """Collects directories (and so imports their conftest files), never a file: with few large jobs a worker
    (NSRUN_FORK_COLLECT=conftests), each job collects its own files in its fork, as much as a fresh pytest would,
    where a whole collection per worker would cost more."""

    @staticmethod
    def pytest_ignore_collect(collection_path, config):
        return True if collection_path.is_file() else None


_CONFTESTS_ONLY = []  # the _ConftestsOnly plugin while it is registered


def main():
    ctl = socket.socket(fileno=os.dup(0))
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    # pytest-rerunfailures serves its xdist status database from a thread it starts in pytest_configure wherever
    # pytest-xdist is installed: no job here runs under xdist, and its plain in-process database is what a job of
    # its own uses; a thread would make forking unsafe
    try:
        import pytest_rerunfailures

        pytest_rerunfailures.HAS_PYTEST_HANDLECRASHITEM = False
    except Exception:
        pass
    # pytest, its plugins, the conftest files and the test modules, collected as the run's collection was, with
    # the same arguments: each job runs its share of these items in a fork. A placeholder JUnit path makes pytest
    # set its reporter up, which each job points at its attempt's directory.
    global _STAGED
    _STAGED = (_staged_inodes(), set(_scratch_entries()))
    prefix = ["-p", "nsrun_pytest", "--junitxml", os.devnull]
    os.environ["NSRUN_ARGS_FROM"] = str(len(prefix))  # where the user's arguments begin, for the collection's report
    if os.environ.get("NSRUN_FORK_COLLECT") == "conftests":
        _CONFTESTS_ONLY.append(_ConftestsOnly())
    code = pytest.main(prefix + sys.argv[1:], plugins=[_Prepare(ctl)] + _CONFTESTS_ONLY)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        ctl.send(b"ended: pytest exited %d before running tests" % int(code))
    except OSError:
        pass
    return 0

if __name__ == "__main__":
    sys.exit(main())
