# SPDX-License-Identifier: LGPL-2.1-or-later
"""nsrun's pytest plugin: reports what pytest collected, exactly as pytest itself resolved it.

Loaded by nsrun with '-p nsrun_pytest' (its directory is put on PYTHONPATH). When NSRUN_COLLECT_OUT names a file,
it writes one JSON document there after collection: the invocation, which of its arguments are positional (the
files, directories, ids or --pyargs packages the jobs replace with their own), the rootdir and inifile the jobs
must keep, whether pytest-xdist is active, and every collected test with its file and markers. nsrun, in C, plans
the jobs from it. Parsing 'pytest --collect-only -q' output instead breaks on '-v' in addopts, plugins that print,
and ids with spaces; pytest's own objects do not.
"""

import argparse
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

# The modules loaded before the conftest files and test modules: what the collection imports beyond these is
# reported (_imports()) for the prepared interpreters of later runs that import the conftest files only.
_MODULES_AT_START = frozenset(sys.modules)
IMPORTS_MAX = 256


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


def _item_path(item):
    """The file a test item was collected from (pytest 7's path, or the older fspath), absolute."""
    return os.path.abspath(str(getattr(item, "path", None) or item.fspath))


def _suffix(nodeid):
    # The part after the file: "::TestX::test_y[param 1]"; empty for items that are files themselves.
    sep = nodeid.find("::")
    return nodeid[sep:] if sep >= 0 else ""


def _item(item, rootdir):
    path = _item_path(item)
    return {
        "nodeid": item.nodeid,
        "path": path,
        "name": file_name(path, rootdir),
        "suffix": _suffix(item.nodeid),
        "markers": sorted({m.name for m in item.iter_markers()}),
    }


_PROBE = "nsrun-positional-probe\x01"


def _positional(config):
    """The indexes in the user's arguments of the positional ones, as pytest's own parser sees them: '-p pkg
    --pyargs pkg' has one, the second. Each candidate is replaced by a probe string and the arguments parsed
    again: it is positional if the probe lands among the files. None if this pytest's parser cannot be asked."""
    args = [str(a) for a in config.invocation_params.args]
    first = int(os.environ.get("NSRUN_ARGS_FROM") or 0)  # the user's, after the ones nsrun put first
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
        if _PROBE in list(getattr(ns, "file_or_dir", None) or []) + list(unknown) and i >= first:
            found.append(i - first)
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


# A test module that changes the environment as it is imported (os.environ["OMP_NUM_THREADS"] = "1", then import
# numpy) makes what is imported after it depend on that: such modules are not imported ahead of the jobs (below),
# where the environment would be the one without the change. sys.modules keeps the order of first imports, so the
# modules imported before the first such file are those counted when its collection started.
_env_cut = {"before": None, "at": None}


def pytest_collectstart(collector):
    if isinstance(collector, pytest.File) and _env_cut["at"] is None:
        _env_cut["before"] = (collector.nodeid, dict(os.environ), len(sys.modules))


def _note_env_change(report):
    before = _env_cut["before"]
    if before is not None and before[0] == report.nodeid and _env_cut["at"] is None and before[1] != dict(os.environ):
        _env_cut["at"] = before[2]


def _imports(session):
    """The top-level modules the collection imported, in the order it did, each with the file it was found at:
    a later run's prepared interpreters that import the conftest files only (nsrun_fork.py) import these too,
    where the same name still finds the same file, so that its jobs, which collect their own files, do not each
    import numpy again. Test modules are left out (each job imports its own, as a fresh pytest would), and so is
    everything first imported after a test module changed the environment."""
    tests = {_item_path(i) for i in session.items}
    out = []
    for name, module in list(sys.modules.items())[: _env_cut["at"]]:
        if "." in name or name in _MODULES_AT_START:
            continue
        path = getattr(module, "__file__", None)
        if not isinstance(path, str) or os.path.abspath(path) in tests:
            continue
        out.append([name, os.path.abspath(path)])
        if len(out) == IMPORTS_MAX:
            break
    return out


def _nodeid_roots(session):
    rootdir = str(session.config.rootpath)
    roots = [str(p) for p in getattr(session, "_initialpaths", ())]
    return [p for p in roots if os.path.isdir(p) and not _under(os.path.abspath(p), os.path.abspath(rootdir))]


def pytest_addoption(parser):
    parser.addoption("--nsrun-nodeid-root", action="append", default=[], help=argparse.SUPPRESS)


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
        # The directories pytest names the files outside the rootdir by (--pyargs packages): the jobs are told
        # them, so their test ids are the ones pytest gives ("tests/test_a.py::test_x"), in every report.
        "nodeid_roots": _nodeid_roots(session),
        # hypothesis's example database, when it is a directory: nsrun merges the jobs' new examples into it
        "hypothesis_db": _hypothesis_db(),
        "imports": _imports(session),
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
def _fault_log():
    try:
        faulthandler.register(signal.SIGTERM, file=os.fdopen(os.dup(2), "w"), all_threads=True, chain=True)
    except (OSError, ValueError, AttributeError):
        pass


if os.environ.get("NSRUN_TIMES_OUT"):
    _fault_log()


# pytest's assertion rewriting, kept between runs in NSRUN_REWRITE_CACHE by nsrun_rewrite.py: pytest keeps a
# rewritten module in __pycache__ beside it, which a job writes into its overlay, thrown away. pytest asks
# _read_pyc() for a module's code before it rewrites the module; a module with an entry made from its content as it
# is now gets the entry's, any other what pytest finds itself. Not with enable_assertion_pass_hook set, which
# changes what the rewriter makes (the cache has the default's).
_rewrite_cache = [False]


def _use_rewrite_cache():
    cache = os.environ.get("NSRUN_REWRITE_CACHE")
    if not cache or not os.path.isabs(cache):
        return
    try:
        from _pytest.assertion import rewrite

        import nsrun_rewrite

        original, tail = rewrite._read_pyc, rewrite.PYC_TAIL
    except (ImportError, AttributeError):
        return

    def _read_pyc(source, pyc, trace=lambda x: None):
        code = nsrun_rewrite.load(cache, source, tail) if _rewrite_cache[0] else None
        return code if code is not None else original(source, pyc, trace)

    rewrite._read_pyc = _read_pyc


_use_rewrite_cache()


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config):
    try:
        _rewrite_cache[0] = not early_config.getini("enable_assertion_pass_hook")
    except ValueError:  # a pytest without it
        _rewrite_cache[0] = True


# A job's file outside the rootdir (an installed package's, with --pyargs) is one of pytest's initial paths, and
# pytest names a file by its path relative to the initial path holding it: "", so its tests are "::test_x" in the
# output and in JUnit (classname ""), tests of different files indistinguishable. Such a file gets the name pytest
# gave it in the whole run: relative to the package directory the user named (--nsrun-nodeid-root, from the
# collection), else its nsrun name "pkg/tests/test_a.py".
def _outside_name(path, config):
    roots = [os.path.abspath(p) for p in (_option(config, "nsrun_nodeid_root") or [])]
    root = next((r for r in roots if _under(path, r) and path != r), None)
    return os.path.relpath(path, root) if root else file_name(path, str(config.rootpath))


# As pytest 7 makes the file's module: it matches a job's "file::test" arguments against the nodes it collected,
# kept by (type, nodeid) (Session._collect()'s _collection_matchnodes_cache), so that with two such files named ""
# the second file's module was the first's: its tests "not found", the job ending before its first test (exit 4),
# or, of the same names as the first file's, those run in their place. Jobs handed the tests of several files of
# an installed package over ran none of them (networkx), or the first file's tests only (of the same names).
if pytest.__version__.split(".")[0] == "7":

    def pytest_pycollect_makemodule(module_path, parent):
        path = os.path.abspath(str(module_path))
        if (not os.environ.get("NSRUN_TIMES_OUT") or module_path.name == "__init__.py" or
                _under(path, os.path.abspath(str(parent.config.rootpath))) or
                not parent.session.isinitpath(module_path)):
            return None
        return pytest.Module.from_parent(parent, path=module_path, nodeid=_outside_name(path, parent.config))


# ... and where a plugin or conftest made the module, its items get that name after collection and deselection.
@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    if not os.environ.get("NSRUN_TIMES_OUT"):
        return
    for item in items:
        if item.nodeid.startswith("::") and isinstance(getattr(item, "_nodeid", None), str):
            item._nodeid = _outside_name(_item_path(item), config) + item.nodeid


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
        path = _item_path(item)
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
    _note_env_change(report)
    if os.environ.get("NSRUN_TIMES_OUT") and report.failed:
        _count("error")
        if _config[0] is not None:
            _report(_config[0], report, "error")


def pytest_runtest_logreport(report):
    if os.environ.get("NSRUN_TIMES_OUT") and _config[0] is not None:
        status = _config[0].hook.pytest_report_teststatus(report=report, config=_config[0])
        category = status[0] if isinstance(status, tuple) and status and isinstance(status[0], str) else None
        _count(category)
        _keep_report(report, category)
        _on_logreport(_config[0], report, status)
    if not os.environ.get("NSRUN_TIMES_OUT") or _current[0] is None or _current[0][0] != report.nodeid:
        return
    name = _current[0][1]
    for key in {name, name + _suffix(report.nodeid)}:
        _times[key] = _times.get(key, 0.0) + report.duration


# A job killed before pytest ends (a timeout, an out-of-memory kill, a crash) writes no times document: what it had
# counted and the test it is in are rewritten as each test starts and ends (into NSRUN_TIMES_OUT's directory,
# progress.json), so nsrun keeps the finished tests' results and names the test that was running.
_done = [0]  # tests finished, for nsrun's progress


def _progress(current):
    _overwrite("progress.json", json.dumps({"current": current, "counts": _counts, "done": _done[0]}))


def pytest_runtest_logstart(nodeid, location):
    _progress(nodeid)


def pytest_runtest_logfinish(nodeid, location):
    # pytest-rerunfailures ends each attempt of a test; only its last, not a 'rerun', finishes the test
    if not any(category == "rerun" for _, category in _reports["pending"].get(nodeid, ())):
        _done[0] += 1
    _on_logfinish(nodeid)
    _write_result(nodeid)
    _progress(None)
    _handover_check(nodeid)


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


# Each failed or errored test's own report as pytest's terminal renders it, for nsrun to show in one FAILURES (and
# ERRORS) section across the jobs, and each test's line of pytest's "short test summary info" (-r). Appended, one
# JSON document a line, to REPORTS_FILE in NSRUN_TIMES_OUT's directory as each test ends, so that a job killed
# later keeps those of the tests it finished. The first line says what pytest resolved -r to. A test can print
# gigabytes: each test's text is cut to TEST_TEXT_MAX (its captured sections keep their ends), and a job's to
# JOB_TEXT_MAX, with where the whole is: the job's log (NSRUN_LOG), where pytest printed it all.
REPORTS_FILE = "reports.jsonl"
VERBOSE_FILE = "verbose.log"
TEST_TEXT_MAX = 64 << 10
JOB_TEXT_MAX = 1 << 20
_reports = {"text": 0, "pending": {}, "started": False}


def _terminal(config):
    return config.pluginmanager.get_plugin("terminalreporter")


def _writer(config):
    """A TerminalWriter into a string, as wide as nsrun's output (NSRUN_COLUMNS), coloured when nsrun's is."""
    import io

    from _pytest._io import TerminalWriter

    tw = TerminalWriter(file=io.StringIO())
    tw.hasmarkup = os.environ.get("NSRUN_COLOR") == "1"
    try:
        tw.fullwidth = int(os.environ.get("NSRUN_COLUMNS", ""))
    except (ValueError, AttributeError):
        pass
    return tw


def _cut_note(what):
    log = os.environ.get("NSRUN_LOG")
    return "... (%s cut; all of it is in %s)" % (what, log) if log else "... (%s cut)" % what


def _cut(text, limit, keep_end):
    """text at most about limit characters: its end (captured output: what came last) or its start and end (a
    traceback: where it began and the E lines)."""
    if len(text) <= limit:
        return text
    lines = text.count("\n", limit // 4, len(text) - limit // 2) if not keep_end else text.count("\n", 0, len(text) - limit)
    note = _cut_note("%d lines" % lines if lines else "%d characters" % (len(text) - limit))
    if keep_end:
        return note + "\n" + text[len(text) - limit :].split("\n", 1)[-1]
    return text[: limit // 4].rsplit("\n", 1)[0] + "\n" + note + "\n" + text[len(text) - limit // 2 :].split("\n", 1)[-1]


def _sections(config, reps, only_teardown):
    """The captured output sections pytest prints under a report (--show-capture), as (name, content)."""
    showcapture = getattr(config.option, "showcapture", "all")
    if showcapture == "no":
        return []
    return [
        (secname, content)
        for rep in reps
        for secname, content in rep.sections
        if (showcapture == "all" or showcapture in secname) and (not only_teardown or "teardown" in secname)
    ]


def _render(config, rep, category, teardowns):
    """The report's block as pytest's summary_failures()/summary_errors() print it; None for --tb=no."""
    tbstyle = getattr(config.option, "tbstyle", "auto")
    if tbstyle == "no":
        return None
    tw = _writer(config)
    if tbstyle == "line" and category == "failed":  # pytest's ERRORS keep their blocks
        tr = _terminal(config)
        tw.line(tr._getcrashline(rep) if tr is not None else str(rep.longrepr)[:50])
        return tw._file.getvalue()
    head = rep.head_line or "test session"
    if category == "error":
        head = "ERROR collecting " + head if rep.when == "collect" else "ERROR at %s of %s" % (rep.when, head)
    tw.sep("_", head, red=True, bold=True)
    rep.toterminal(tw)
    text = _cut(tw._file.getvalue(), TEST_TEXT_MAX // 2, False)
    sections = _sections(config, [rep], False) + (_sections(config, teardowns, True) if category == "failed" else [])
    for secname, content in sections:  # sharing what is left of TEST_TEXT_MAX, each keeping its end
        tw = _writer(config)
        tw.sep("-", secname)
        if content[-1:] == "\n":
            content = content[:-1]
        text += tw._file.getvalue() + _cut(content, (TEST_TEXT_MAX - len(text)) // len(sections), True) + "\n"
    return text


def _summary(config, rep, category):
    """The report's lines in pytest's short test summary, rendered by pytest's own code for this one report."""
    tr = _terminal(config)
    if tr is None or not hasattr(tr, "short_test_summary"):
        return []
    saved = tr.stats, tr._tw
    tr.stats, tr._tw = {category: [rep]}, _writer(config)
    try:
        tr.short_test_summary()
        text = tr._tw._file.getvalue()
    except Exception:
        text = ""
    finally:
        tr.stats, tr._tw = saved
    lines = text.splitlines()
    heads = [i for i, line in enumerate(lines) if "short test summary info" in line]
    return lines[heads[0] + 1 :] if heads else []


def _reports_write(config, doc):
    if not os.environ.get("NSRUN_TIMES_OUT"):
        return
    if not _reports["started"]:
        tr = _terminal(config)
        _append(REPORTS_FILE, json.dumps({"reportchars": getattr(tr, "reportchars", "fE") if tr is not None else ""}))
        _reports["started"] = True
    _append(REPORTS_FILE, json.dumps(doc))


def _report(config, rep, category, teardowns=()):
    tr = _terminal(config)
    chars = getattr(tr, "reportchars", "fE") if tr is not None else ""
    char = {"failed": "f", "error": "E", "passed": "p", "skipped": "s", "xfailed": "x", "xpassed": "X"}.get(category)
    text = _render(config, rep, category, teardowns) if category in ("failed", "error") else None
    summary = _summary(config, rep, category) if char and char in chars else []
    if text is None and not summary:
        return
    doc = {"id": rep.nodeid, "category": category, "summary": summary}
    if text is not None:
        if _reports["text"] + len(text) > JOB_TEXT_MAX:
            text = text.split("\n", 1)[0] + "\n" + _cut_note("this job's failures are over 1 MiB: this one is") + "\n"
        _reports["text"] += len(text)
        doc["text"] = text
    _reports_write(config, doc)


def _verbose_line(config, rep, word):
    """pytest -v's line for the report, as its terminal reporter writes it (without the progress nsrun adds)."""
    tr = _terminal(config)
    try:
        line = tr._locationline(rep.nodeid, *rep.location)
    except Exception:
        line = rep.nodeid + " "
    line += word
    if rep.skipped or hasattr(rep, "wasxfail"):
        try:
            from _pytest.terminal import _get_raw_skip_reason

            reason = _get_raw_skip_reason(rep)
        except Exception:
            reason = ""
        if reason:
            line += " (%s)" % reason.split("\n", 1)[0]
    _append(VERBOSE_FILE, line[:4096])


def _on_logreport(config, report, status):
    category, word = (status[0], status[2]) if isinstance(status, tuple) and len(status) == 3 else (None, None)
    if isinstance(word, tuple):
        word = word[0]
    if word and isinstance(word, str) and config.option.verbose > 0:
        _verbose_line(config, report, word)
    _reports["pending"].setdefault(report.nodeid, []).append((report, category))


def _on_logfinish(nodeid):
    reps = _reports["pending"].pop(nodeid, [])
    teardowns = [r for r, category in reps if r.when == "teardown" and not category]  # passed ones, as pytest
    for rep, category in reps:
        if category and isinstance(category, str):
            _report(_config[0], rep, category, teardowns)


# A job killed in the middle of its tests (a timeout, an out-of-memory kill, a crash): nsrun keeps each finished
# test's result and runs the tests it had not reached in a new job, as pytest-xdist replaces a crashed worker. For
# that the job writes, next to NSRUN_TIMES_OUT, the tests it collected (tests.json: each one's node id and the
# argument that selects it again, its absolute path and the rest of its id) once collected, and a line for each
# test as it ends (results.jsonl: its JUnit names, as pytest's junitxml makes them, its outcome and message).
_RESULT_TEXT_MAX = 8192
_results = {}


def _job_file(name):
    out = os.environ.get("NSRUN_TIMES_OUT")
    return os.path.join(os.path.dirname(out), name) if out else None


# The files written as each test starts or ends (progress.json, results.jsonl, reports.jsonl, verbose.log) go
# through one descriptor each, opened once by each process (a job forked from a prepared interpreter, or forked by
# a test, opens its own): opened, written and closed, progress.json replaced by a rename, for every event, they
# cost a trivial test 0.7 ms, 2.5 times pytest's own cost of it. A line is appended in one write(); progress.json
# is overwritten in place, padded with spaces to its longest document yet, so that it never ends in an older
# one's tail (nsrun reads the first JSON value; one read while the job writes may be torn, and is then ignored).
# A test may close descriptors it does not own (os.closerange()) and its next open() take the number: each write
# first checks that the descriptor is still the file it opened (fstat(), 1 us), and opens it again if not.
_fds = {}


def _job_fd(name, append):
    key = (os.getpid(), os.environ.get("NSRUN_TIMES_OUT"), name)
    if not key[1]:
        return None
    f = _fds.get(key)
    if f is not None:
        try:
            st = os.fstat(f[0])
            if (st.st_dev, st.st_ino) == f[2]:
                return f
        except OSError:
            pass
    fd = os.open(_job_file(name), os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | (os.O_APPEND if append else 0), 0o644)
    st = os.fstat(fd)
    _fds[key] = f = [fd, st.st_size, (st.st_dev, st.st_ino)]
    return f


def _write_all(fd, data, offset=None):
    while data:
        n = os.write(fd, data) if offset is None else os.pwrite(fd, data, offset)
        data = data[n:]
        offset = None if offset is None else offset + n


def _append(name, text):
    f = _job_fd(name, True)
    if f:
        _write_all(f[0], (text + "\n").encode("utf-8", "backslashreplace"))


def _overwrite(name, text):
    f = _job_fd(name, False)
    if f:
        data = text.encode("utf-8", "backslashreplace")
        _write_all(f[0], data.ljust(f[1]), 0)
        f[1] = max(f[1], len(data))


def _arg(item):
    return _item_path(item) + _suffix(item.nodeid)


def _write_json(name, doc):
    path = _job_file(name)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(doc, f)
    os.replace(path + ".tmp", path)


def _write_tests(session, items=None):
    if not _job_file("tests.json"):
        return
    items = session.items if items is None else items
    _write_json("tests.json", [{"nodeid": item.nodeid, "arg": _arg(item)} for item in items])
    if items is session.items:
        _handover.update(session=session, items=list(items), index={})
        for i, item in enumerate(items):
            _handover["index"].setdefault(item.nodeid, i)


# Handing over: with a worker idle and no job left to start, nsrun asks a running job for about half of the tests
# it has not reached, by creating HANDOVER_ASK in the job's attempt directory (with O_EXCL: never a file the job
# made). At the end of its current test the job answers in HANDOVER_FILE (written whole, then renamed): the tests
# it keeps, from its first, and those it gives away, each as its argument and its file's name, which nsrun runs in
# a new job; then it ends after the last it keeps, as pytest's -x ends a session (shouldstop), and its tests.json
# lists the kept ones only, so that a crash later runs none of the others again. It gives about half of the time
# left by its own pace (_handover_cut()), at a file's end where one lies near the middle (module fixtures are then
# set up once more in one job, not in two); with fewer than 2 tests left it gives none.
HANDOVER_ASK = "handover-ask"
HANDOVER_FILE = "handover.json"
_handover = {"session": None, "items": None, "index": {}, "answered": False, "stop_after": None}


def _handover_cut(done, rest, rootdir):
    """How many of the tests not reached the job keeps: about half of their time, each counted at the mean time of
    its file's tests so far, those of a file not begun at the lower median of the job's tests so far (a job is long
    for a slow file it is in, seldom for the ones it has not reached), cut at a file's end where one lies within an
    eighth of that time of the middle."""
    n = len(rest)
    if n < 2:
        return n
    per_file, times = {}, []
    for item in done:
        path = _item_path(item)
        t = _times.get(file_name(path, rootdir) + _suffix(item.nodeid))
        if t is not None:
            per_file.setdefault(path, []).append(t)
            times.append(t)
    other = max(sorted(times)[(len(times) - 1) // 2], 1e-6) if times else 1.0
    paths = [_item_path(item) for item in rest]
    cum = [0.0]
    for p in paths:
        cum.append(cum[-1] + (max(sum(per_file[p]) / len(per_file[p]), 1e-6) if p in per_file else other))
    half = cum[-1] / 2
    ends = [k for k in range(1, n) if paths[k - 1] != paths[k] and abs(cum[k] - half) <= cum[-1] / 8]
    return min(ends or range(1, n), key=lambda k: abs(cum[k] - half))


def _handover_check(nodeid):
    h = _handover
    if h["stop_after"] is not None:
        if nodeid == h["stop_after"]:
            h["session"].shouldstop = "nsrun handed the tests after this one to another job"
        return
    if h["answered"] or h["items"] is None or not os.path.lexists(_job_file(HANDOVER_ASK)):
        return
    h["answered"] = True
    at = h["index"].get(nodeid)
    rest = h["items"][at + 1 :] if at is not None else []
    rootdir = str(h["session"].config.rootpath)
    cut = _handover_cut(h["items"][: at + 1] if at is not None else [], rest, rootdir)
    kept, given = h["items"][: at + 1 + cut] if at is not None else h["items"], rest[cut:]

    def listed(items):
        return [{"arg": _arg(i), "file": file_name(_item_path(i), rootdir)} for i in items]

    if given:
        _write_tests(h["session"], kept)
    _write_json(HANDOVER_FILE, {"keep": listed(kept), "give": listed(given)})
    if given:
        h["stop_after"] = kept[-1].nodeid
        _handover_check(nodeid)


def _junit_names(nodeid):
    try:
        from _pytest.junitxml import mangle_test_address

        names = mangle_test_address(nodeid)
    except (ImportError, AttributeError):
        names = nodeid.split("::")
    return ".".join(names[:-1]), names[-1]


def _keep_report(report, category):
    if not os.environ.get("NSRUN_TIMES_OUT"):
        return
    kept = _results.setdefault(report.nodeid, {"categories": [], "message": "", "text": "", "time": 0.0})
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
    kept = _results.pop(nodeid, None)  # kept only where there is a results file
    if kept is None:
        return
    cats = kept["categories"]
    outcome = ("error" if "error" in cats else "failure" if "failed" in cats else
               "skipped" if "skipped" in cats or "xfailed" in cats else "passed")
    classname, name = _junit_names(nodeid)
    line = {"nodeid": nodeid, "classname": classname, "name": name, "outcome": outcome,
            "message": kept["message"][:_RESULT_TEXT_MAX], "text": kept["text"], "time": kept["time"]}
    _append("results.jsonl", json.dumps(line))


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


def job_begin(session, collected=True):
    """A job forked from nsrun's prepared interpreter (nsrun_fork.py) begins here, in the session prepared there,
    with its own environment: what this plugin does at a job's import and configure, and, where the session holds
    the job's items already (collected), at its collection's end; else its own collection ends with that."""
    _fault_log()
    pytest_configure(session.config)
    if collected:
        _write_tests(session)
        _hypothesis_snapshot()
