# SPDX-License-Identifier: LGPL-2.1-or-later
"""nsrun's pytest plugin: reports what pytest collected, exactly as pytest itself resolved it.

Loaded by nsrun with '-p nsrun_pytest' (its directory is put on PYTHONPATH). When NSRUN_COLLECT_OUT names a file,
it writes one JSON document there after collection: the invocation, which of its arguments are positional (the
files, directories, ids or --pyargs packages the jobs replace with their own), the rootdir and inifile the jobs
must keep, whether pytest-xdist is active, and every collected test with its file and markers. nsrun, in C, plans
the jobs from it. Parsing 'pytest --collect-only -q' output instead breaks on '-v' in addopts, plugins that print,
and ids with spaces; pytest's own objects do not.
"""

import faulthandler
import json
import os
import signal
import sys

import pytest

# Where modules are imported from, as this interpreter started: before pytest's rootdir/conftest insertions, which
# differ between the collection and a job that runs a few files. An installed package's tests are named relative
# to the entry they are imported from ("pkg/tests/test_a.py"), the same whatever directory nsrun runs in.
_IMPORT_ROOTS = sorted({os.path.abspath(p or os.curdir) for p in sys.path}, key=len, reverse=True)


def _under(path, root):
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def file_name(path, rootdir):
    """The name nsrun gives a test file, for its job, log and history: relative to the rootdir; outside it (an
    installed package run with --pyargs), relative to the deepest sys.path entry holding it; else absolute. The
    collection names files and each job keys the files' times with this one function, so the two always agree."""
    path = os.path.abspath(path)
    rootdir = os.path.abspath(rootdir)
    if _under(path, rootdir):
        return os.path.relpath(path, rootdir)
    for root in _IMPORT_ROOTS:
        if _under(path, root) and path != root:
            return os.path.relpath(path, root)
    return path


def _suffix(nodeid):
    # The part after the file: "::TestX::test_y[param 1]"; empty for items that are files themselves.
    sep = nodeid.find("::")
    return nodeid[sep:] if sep >= 0 else ""


def _item(item, rootdir):
    path = os.path.abspath(str(getattr(item, "path", None) or item.fspath))
    return {
        "nodeid": item.nodeid,
        "path": path,
        "name": file_name(path, rootdir),
        "suffix": _suffix(item.nodeid),
        "markers": sorted({m.name for m in item.iter_markers()}),
    }


_PROBE = "nsrun-positional-probe\x01"


def _positional(config):
    """The indexes in invocation_args of the positional arguments, as pytest's own parser sees them: '-p pkg
    --pyargs pkg' has one, the second. Each candidate is replaced by a probe string and the arguments parsed
    again: it is positional if the probe lands among the files. None if this pytest's parser cannot be asked."""
    args = [str(a) for a in config.invocation_params.args]
    wanted = set(config.option.file_or_dir or [])
    parser = getattr(config, "_parser", None)
    if parser is None or not hasattr(parser, "parse_known_and_unknown_args"):
        return None
    found = []
    for i, arg in enumerate(args):
        if arg not in wanted:
            continue
        try:
            ns, unknown = parser.parse_known_and_unknown_args(args[:i] + [_PROBE] + args[i + 1 :])
        except (Exception, SystemExit):
            return None
        if _PROBE in list(getattr(ns, "file_or_dir", None) or []) + list(unknown):
            found.append(i)
    return found


def _option(config, name):
    try:
        return config.getoption(name)
    except ValueError:
        return None


def _cache_dir(config):
    cache = getattr(config, "cache", None)
    path = getattr(cache, "_cachedir", None)
    return os.path.abspath(str(path)) if path is not None else None


def pytest_collection_finish(session):
    out = os.environ.get("NSRUN_COLLECT_OUT")
    if not out:
        _write_tests(session)
        _hypothesis_snapshot()
        return
    config = session.config
    rootdir = str(config.rootpath)
    inipath = getattr(config, "inipath", None)
    doc = {
        "version": 1,
        "rootdir": rootdir,
        "invocation_dir": str(config.invocation_params.dir),
        "invocation_args": list(config.invocation_params.args),
        "file_or_dir": list(config.option.file_or_dir or []),
        "positional": _positional(config),
        # Given on the command line, the jobs keep them; found by pytest, the jobs are told: a job's files alone
        # would make pytest look elsewhere (from an installed package's directory, for --pyargs).
        "rootdir_given": bool(getattr(config.option, "rootdir", None)),
        "inifile": str(inipath) if inipath else None,
        "inifile_given": bool(getattr(config.option, "inifilename", None)),
        "xdist": config.pluginmanager.hasplugin("xdist"),
        # pytest's cache directory (the ini option cache_dir, resolved), None under -p no:cacheprovider: nsrun
        # merges the jobs' cache values into it after the run. Whether the collection read it (--lf, --ff, --nf,
        # --sw), so that a reused collection is keyed by its content; and --cache-clear.
        "cache_dir": _cache_dir(config),
        "cache_read": any(_option(config, o) for o in ("lf", "failedfirst", "newfirst", "stepwise", "stepwise_skip")),
        "cache_clear": bool(_option(config, "cacheclear")),
        # -x, --exitfirst, --maxfail=N as pytest resolved them (addopts too): nsrun stops the whole run there
        "maxfail": int(_option(config, "maxfail") or 0),
        # hypothesis's example database, when it is a directory: nsrun merges the jobs' new examples into it
        "hypothesis_db": _hypothesis_db(),
        "items": [_item(i, rootdir) for i in session.items],
    }
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f)
    os.replace(tmp, out)


# --timeout sends the job's pytest SIGTERM, then SIGKILL after --timeout-grace: on SIGTERM, faulthandler writes
# every thread's traceback, where the hung test is, into the job's log, then the default action ends pytest.
# Into a copy of the log's descriptor taken now, as this plugin is imported (-p), before pytest's capture
# points descriptor 2 at a temporary file that dies with the job.
if os.environ.get("NSRUN_TIMES_OUT"):
    try:
        _fault_log = os.fdopen(os.dup(2), "w")
        faulthandler.register(signal.SIGTERM, file=_fault_log, all_threads=True, chain=True)
    except (OSError, ValueError, AttributeError):
        pass


# A job's file outside the rootdir (an installed package's, with --pyargs) is one of pytest's initial paths, and
# pytest names a file by its path relative to the initial path holding it: "", so its tests are "::test_x" in the
# output and in JUnit (classname ""), tests of different files indistinguishable. After collection and
# deselection, such items get their file's nsrun name back: "pkg/tests/test_a.py::test_x".
@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    if not os.environ.get("NSRUN_TIMES_OUT"):
        return
    rootdir = str(config.rootpath)
    for item in items:
        if item.nodeid.startswith("::") and isinstance(getattr(item, "_nodeid", None), str):
            item._nodeid = file_name(str(getattr(item, "path", None) or item.fspath), rootdir) + item.nodeid


# Per-file test time, for nsrun's history when several files share one job: with NSRUN_TIMES_OUT set, the
# seconds each file's tests took (setup, call and teardown) are written there when the session ends, keyed by
# the file's name (file_name(), as the collection named it) and, for jobs of one test, by name and suffix. The
# running item says which file: not the nodeid, which pytest makes "::test_x" for a file outside the rootdir
# given as an argument (so two such files of one job collide), nor report.location, which names the file a test
# function was defined in (a base class in a helper module).
_times = {}
_current = [None]


def pytest_runtest_protocol(item, nextitem):
    if os.environ.get("NSRUN_TIMES_OUT"):
        path = str(getattr(item, "path", None) or item.fspath)
        _current[0] = (item.nodeid, file_name(path, str(item.config.rootpath)))


# The job's tests by outcome in pytest's own words (its pytest_report_teststatus() categories: passed, failed,
# error, skipped, xfailed, xpassed, ...), as its final line counts them: JUnit has no xpassed, and an xfail is a
# skip there.
_counts = {}
_config = [None]


def _count(category):
    if category:
        _counts[category] = _counts.get(category, 0) + 1


def pytest_collectreport(report):
    if os.environ.get("NSRUN_TIMES_OUT") and report.failed:
        _count("error")


def pytest_runtest_logreport(report):
    if os.environ.get("NSRUN_TIMES_OUT") and _config[0] is not None:
        status = _config[0].hook.pytest_report_teststatus(report=report, config=_config[0])
        category = status[0] if isinstance(status, tuple) and status and isinstance(status[0], str) else None
        _count(category)
        _keep_report(report, category)
    if not os.environ.get("NSRUN_TIMES_OUT") or _current[0] is None or _current[0][0] != report.nodeid:
        return
    name = _current[0][1]
    for key in {name, name + _suffix(report.nodeid)}:
        _times[key] = _times.get(key, 0.0) + report.duration


# A job killed before pytest ends (a timeout, an out-of-memory kill, a crash) writes no times document: what it had
# counted and the test it is in are rewritten as each test starts and ends (into NSRUN_TIMES_OUT's directory,
# progress.json), so nsrun keeps the finished tests' results and names the test that was running.
def _progress(current):
    out = os.environ.get("NSRUN_TIMES_OUT")
    if not out:
        return
    path = os.path.join(os.path.dirname(out), "progress.json")
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump({"current": current, "counts": _counts}, f)
    os.replace(path + ".tmp", path)


def pytest_runtest_logstart(nodeid, location):
    _progress(nodeid)


def pytest_runtest_logfinish(nodeid, location):
    _write_result(nodeid)
    _progress(None)


def pytest_sessionfinish(session):
    out = os.environ.get("NSRUN_TIMES_OUT")
    if not out:
        return
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"rootdir": str(session.config.rootpath), "files": _times, "counts": _counts}, f)
    os.replace(tmp, out)


# The job's pytest cache: each job reads the project's .pytest_cache (through its overlay, so --lf, --ff, --nf and
# --sw select as in the project) and whatever it writes there is thrown away with the sandbox. With NSRUN_CACHE_OUT
# set, the values the job set (cache.set(): pytest's cache/lastfailed, cache/nodeids, cache/stepwise, plugins'
# keys) are written there when pytest ends; lastfailed as what this job changed, the tests it added and the ones
# it removed, since every job starts from the same lastfailed and each changes only its own tests'. nsrun merges
# them into the project's cache directory after the run.
_cache_sets = {}
_lastfailed_before = [None]


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    _config[0] = config
    cache = getattr(config, "cache", None)
    if not os.environ.get("NSRUN_CACHE_OUT") or cache is None:
        return
    _lastfailed_before[0] = cache.get("cache/lastfailed", {})
    cache_set = cache.set

    def set_and_keep(key, value):
        cache_set(key, value)
        _cache_sets[key] = value

    cache.set = set_and_keep


def pytest_unconfigure(config):
    _hypothesis_copy()
    out = os.environ.get("NSRUN_CACHE_OUT")
    if not out or _lastfailed_before[0] is None:
        return
    doc = {"values": {}}
    for key, value in _cache_sets.items():
        if key == "cache/lastfailed":
            before = _lastfailed_before[0] if isinstance(_lastfailed_before[0], dict) else {}
            after = value if isinstance(value, dict) else {}
            doc["lastfailed"] = {
                "added": {k: v for k, v in after.items() if k not in before},
                "removed": sorted(k for k in before if k not in after),
            }
            continue
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            continue
        doc["values"][key] = value
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f)
    os.replace(tmp, out)


# A job killed in the middle of its tests (a timeout, an out-of-memory kill, a crash): nsrun keeps each finished
# test's result and runs the tests it had not reached in a new job, as pytest-xdist replaces a crashed worker. For
# that the job writes, next to NSRUN_TIMES_OUT, the tests it collected (tests.json: each one's node id and the
# argument that selects it again, its absolute path and the rest of its id) once collected, and a line for each
# test as it ends (results.jsonl: its JUnit names, as pytest's junitxml makes them, its outcome and message).
_RESULT_TEXT_MAX = 8192
_reports = {}


def _job_file(name):
    out = os.environ.get("NSRUN_TIMES_OUT")
    return os.path.join(os.path.dirname(out), name) if out else None


def _write_tests(session):
    path = _job_file("tests.json")
    if not path:
        return
    tests = []
    for item in session.items:
        where = os.path.abspath(str(getattr(item, "path", None) or item.fspath))
        tests.append({"nodeid": item.nodeid, "arg": where + _suffix(item.nodeid)})
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(tests, f)
    os.replace(path + ".tmp", path)


def _junit_names(nodeid):
    try:
        from _pytest.junitxml import mangle_test_address

        names = mangle_test_address(nodeid)
    except (ImportError, AttributeError):
        names = nodeid.split("::")
    return ".".join(names[:-1]), names[-1]


def _keep_report(report, category):
    if not _job_file("results.jsonl"):
        return
    kept = _reports.setdefault(report.nodeid, {"categories": [], "message": "", "text": "", "time": 0.0})
    kept["time"] += report.duration
    if category:
        kept["categories"].append(category)
    if report.failed or report.skipped:
        crash = getattr(getattr(report, "longrepr", None), "reprcrash", None)
        kept["message"] = kept["message"] or str(getattr(crash, "message", "") or "")
        if report.skipped and isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
            kept["message"] = kept["message"] or str(report.longrepr[2])
        kept["text"] = kept["text"] or report.longreprtext[-_RESULT_TEXT_MAX:]


def _write_result(nodeid):
    path = _job_file("results.jsonl")
    kept = _reports.pop(nodeid, None)
    if not path or kept is None:
        return
    cats = kept["categories"]
    outcome = ("error" if "error" in cats else "failure" if "failed" in cats else
               "skipped" if "skipped" in cats or "xfailed" in cats else "passed")
    classname, name = _junit_names(nodeid)
    line = {"nodeid": nodeid, "classname": classname, "name": name, "outcome": outcome,
            "message": kept["message"][:_RESULT_TEXT_MAX], "text": kept["text"], "time": kept["time"]}
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")


# hypothesis's example database (.hypothesis/examples: a directory per test, a file per example that failed):
# each job reads the project's through its overlay, so a failure found before is replayed first, and what it adds
# goes with its sandbox. With NSRUN_HYPOTHESIS_OUT set, the examples the job added are copied there when pytest
# ends (<key>/<value>, as in the database), and nsrun adds them to the project's database after the run.
_hypothesis_before = [None]


def _hypothesis_db():
    if "hypothesis" not in sys.modules:
        return None
    try:
        from hypothesis import settings
        from hypothesis.database import DirectoryBasedExampleDatabase

        db = settings.default.database
    except Exception:
        return None
    return os.path.abspath(str(db.path)) if isinstance(db, DirectoryBasedExampleDatabase) else None


def _hypothesis_examples(db):
    found = set()
    try:
        for key in os.listdir(db):
            if os.path.isdir(os.path.join(db, key)) and not os.path.islink(os.path.join(db, key)):
                found.update((key, value) for value in os.listdir(os.path.join(db, key)))
    except OSError:
        pass
    return found


def _hypothesis_snapshot():
    db = _hypothesis_db() if os.environ.get("NSRUN_HYPOTHESIS_OUT") else None
    if db:
        _hypothesis_before[0] = (db, _hypothesis_examples(db))


def _hypothesis_copy():
    out = os.environ.get("NSRUN_HYPOTHESIS_OUT")
    db = _hypothesis_db()
    if not out or not db:
        return
    before = _hypothesis_before[0][1] if _hypothesis_before[0] and _hypothesis_before[0][0] == db else set()
    for key, value in sorted(_hypothesis_examples(db) - before):
        src = os.path.join(db, key, value)
        try:
            if not os.path.isfile(src) or os.path.islink(src):
                continue
            os.makedirs(os.path.join(out, key), exist_ok=True)
            with open(src, "rb") as f, open(os.path.join(out, key, value), "wb") as g:
                g.write(f.read())
        except OSError:
            continue
