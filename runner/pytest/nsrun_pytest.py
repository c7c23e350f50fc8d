# SPDX-License-Identifier: LGPL-2.1-or-later
"""nsrun's pytest plugin: reports what pytest collected, exactly as pytest itself resolved it.

Loaded by nsrun with '-p nsrun_pytest' (its directory is put on PYTHONPATH). When NSRUN_COLLECT_OUT names a file,
it writes one JSON document there after collection: the invocation, the positional arguments as pytest parsed
them, whether pytest-xdist is active, and every collected test with its file and markers. nsrun, in C, plans the
jobs from it. Parsing 'pytest --collect-only -q' output instead breaks on '-v' in addopts, plugins that print,
and ids with spaces; pytest's own objects do not.
"""

import json
import os


def _item(item):
    path = str(getattr(item, "path", None) or item.fspath)
    nodeid = item.nodeid
    # The part after the file: "::TestX::test_y[param 1]"; empty for items that are files themselves.
    sep = nodeid.find("::")
    return {
        "nodeid": nodeid,
        "path": os.path.abspath(path),
        "suffix": nodeid[sep:] if sep >= 0 else "",
        "markers": sorted({m.name for m in item.iter_markers()}),
    }


def pytest_collection_finish(session):
    out = os.environ.get("NSRUN_COLLECT_OUT")
    if not out:
        return
    config = session.config
    doc = {
        "version": 1,
        "rootdir": str(config.rootpath),
        "invocation_dir": str(config.invocation_params.dir),
        "invocation_args": list(config.invocation_params.args),
        "file_or_dir": list(config.option.file_or_dir or []),
        "xdist": config.pluginmanager.hasplugin("xdist"),
        "items": [_item(i) for i in session.items],
    }
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f)
    os.replace(tmp, out)


# Per-file test time, for nsrun's history when several files share one job: with NSRUN_TIMES_OUT set, the
# seconds each file's tests took (setup, call and teardown) are written there when the session ends.
_times = {}


def pytest_runtest_logreport(report):
    if os.environ.get("NSRUN_TIMES_OUT"):
        path = report.nodeid.split("::", 1)[0]
        _times[path] = _times.get(path, 0.0) + report.duration


def pytest_sessionfinish(session):
    out = os.environ.get("NSRUN_TIMES_OUT")
    if not out:
        return
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"rootdir": str(session.config.rootpath), "files": _times}, f)
    os.replace(tmp, out)
