# SPDX-License-Identifier: LGPL-2.1-or-later
"""nsrun's cache of pytest's assertion rewriting: writes, for each test file named on its standard input, the code pytest's assertion
rewriter makes of it, keyed by the file's content, where nsrun's plugin finds it (nsrun_pytest.py,
_use_rewrite_cache(), through load()).

pytest keeps its rewritten test modules in __pycache__ beside them, which a job writes into its own overlay, thrown
away: under nsrun every run rewrote every test module again (sympy.matrices: 1.5 s of a 2 s collection). This
program runs in its own sandbox while the jobs run, in the background (_background(): what the jobs leave idle),
the cache its only writable path; nsrun kills it when the jobs are done, and the next run goes on where it
stopped. It imports pytest's rewriter and nothing of the project: no conftest, no test module runs here, so what
the cache holds is the rewriter's output for those files, whatever the jobs do (a job's writes to it stay in its
own overlay).

An entry is ENTRY_MAGIC, the interpreter's bytecode magic number and the SHA-256 of the source it was made from,
then the marshalled code: valid for that content wherever its mtime came from (a fresh CI checkout of the same
commit at the same path), at the file's absolute path below the cache, named as pytest names its own (PYC_TAIL:
the interpreter's cache tag and pytest's version).

    python nsrun_rewrite.py CACHE < FILES    (the files' paths, each followed by a NUL)
"""

import hashlib
import importlib.util
import marshal
import os
import sys
import types

ENTRY_MAGIC = b"nsrun-rewrite 1\n"
SOURCE_MAX = 16 << 20  # a larger test file is rewritten by pytest each time
ENTRY_MAX = 64 << 20


def _entry(cache, path, tail):
    return os.path.join(cache, *path.parts[1:-1]), path.name[:-3] + tail


def _read(path, limit):
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise OSError("too large")
    return data


def _head(source):
    return ENTRY_MAGIC + importlib.util.MAGIC_NUMBER + hashlib.sha256(source).digest()


def load(cache, path, tail):
    """The code of path's entry, if it was made from path's content as it is now; else None."""
    directory, name = _entry(cache, path, tail)
    try:
        data = _read(os.path.join(directory, name), ENTRY_MAX)
        head = _head(_read(path, SOURCE_MAX))
        code = marshal.loads(data[len(head):]) if data.startswith(head) else None
    except (OSError, EOFError, ValueError, TypeError):
        return None
    return code if isinstance(code, types.CodeType) else None


def _store(directory, name, data):
    """The entry written whole or not at all: an unnamed file linked in once complete (a kill leaves nothing)."""
    os.makedirs(directory, exist_ok=True)
    dfd = os.open(directory, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        fd = os.open(".", os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o644, dir_fd=dfd)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            src = "/proc/self/fd/%d" % fd
            try:
                os.link(src, name, dst_dir_fd=dfd, follow_symlinks=True)
            except FileExistsError:  # made from other content
                os.unlink(name, dir_fd=dfd)
                os.link(src, name, dst_dir_fd=dfd, follow_symlinks=True)
    finally:
        os.close(dfd)


def _background():
    """The CPU the jobs leave idle only. SCHED_IDLE orders this process behind the others of its scheduling group;
    with autogroups (sched_autogroup_enabled), each session is a group of its own, the session nsrun made for
    this sandbox too, as weighty as each job's: its niceness goes to 19 (SCHED_IDLE alone took about as much
    CPU as a job here)."""
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    try:
        with open("/proc/self/autogroup", "w") as f:
            f.write("19")
    except OSError:
        pass


def main():
    _background()
    import ast
    from pathlib import Path

    try:
        from _pytest.assertion import rewrite

        tail, rewrite_asserts = rewrite.PYC_TAIL, rewrite.rewrite_asserts
    except (ImportError, AttributeError):  # a pytest whose rewriter is not this one: no cache
        return 0
    cache = sys.argv[1]
    for name in sys.stdin.buffer.read().split(b"\0"):
        if not name:
            continue
        path = Path(os.path.abspath(os.fsdecode(name)))
        if path.suffix != ".py" or load(cache, path, tail) is not None:
            continue
        try:
            source = _read(path, SOURCE_MAX)
            # as pytest's _rewrite_test(), with its defaults (no enable_assertion_pass_hook)
            tree = ast.parse(source, filename=str(path))
            rewrite_asserts(tree, source, str(path), None)
            code = compile(tree, str(path), "exec", dont_inherit=True)
            _store(*_entry(cache, path, tail), _head(source) + marshal.dumps(code))
        except (OSError, SyntaxError, ValueError):  # pytest reports what it cannot import
            continue
    return 0


if __name__ == "__main__":
    sys.exit(main())
