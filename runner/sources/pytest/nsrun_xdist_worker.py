"""nsrun xdist's pytest plugin, copied into each run's directory (on the workers' PYTHONPATH) and removed after it.

The worker side writes where nsrun exec says (NSRUN_XDIST_SLOT): the worker's id, then the test it is running, so
that nsrun can name the test a dead worker was running; and it makes the base of its --basetemp, which pytest-xdist
puts under the controller's (/tmp/pytest-of-USER/pytest-N/popen-gwK) where the worker's private /tmp lacks it. The controller side refuses workers that are not nsrun's
sandboxes: an addopts '-n 4' or '--tx popen' would start unsandboxed ones next to them.

pytest-rerunfailures (with a pytest-xdist that has pytest_handlecrashitem) keeps each test's rerun and failure
counts in the controller, where the workers read and write them over TCP to the host's loopback
(ClientStatusDB(workerinput['sock_port'])); a worker, in a network namespace of its own, cannot connect there. So
the controller gives each worker an execnet channel on the gateway it already has to it (in its workerinput), and
the worker's status DB reads and writes the controller's through it. A write leaves the worker before its test
starts, and the controller applies it before it learns of a crash, so a test whose worker crashed is rerun as
under 'pytest -n'.
"""
import contextlib
import os
import sys

import pytest
_slot = os.environ.get('NSRUN_XDIST_SLOT')

_slot_files = {}


def _put(suffix, text):
    # a line nsrun reads once the worker is gone: written in place through a descriptor kept open (a rename per
    # test cost a trivial test 0.3 ms), padded with spaces after its newline to the longest line yet
    # (a test may close descriptors it does not own, and its next open() take the number: checked first)
    f = _slot_files.get(suffix)
    try:
        st = os.fstat(f[0]) if f else None
    except OSError:
        st = None
    if st is None or (st.st_dev, st.st_ino) != f[2]:
        fd = os.open(_slot + suffix, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
        st = os.fstat(fd)
        _slot_files[suffix] = f = [fd, st.st_size, (st.st_dev, st.st_ino)]
    data = (text + '\n').encode('utf-8', 'backslashreplace')
    os.pwrite(f[0], data.ljust(f[1]), 0)
    f[1] = max(f[1], len(data))

@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    # before xdist's own: --tx alone distributes nothing; 'load' unless the command line or addopts chose.
    # Not in a worker: xdist calls this there too, with dist 'no', and a worker must not start workers.
    if _slot or hasattr(config, 'workerinput') or not os.environ.get('NSRUN_XDIST_TX'):
        return
    if config.getoption('dist', 'no') == 'no':
        config.option.dist = 'load'

_STATUS_CHANNEL = 'nsrun_status_channel'


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    # the controller: the worker's reads and writes of pytest-rerunfailures' status DB, answered from it
    db = getattr(node.config, 'failures_db', None)
    if _slot or not os.environ.get('NSRUN_XDIST_TX') or not hasattr(db, 'sock_port'):
        return
    channel = node.gateway.newchannel()

    def serve(message):
        # the worker's words are data: a malformed message raises here, and execnet closes this channel alone
        op, i, k, v = message
        if op == 'set':
            db._set(i, k, v)
        else:
            with contextlib.suppress(OSError, EOFError):  # the worker is gone
                channel.send(db._get(i, k))
    channel.setcallback(serve)
    node.workerinput[_STATUS_CHANNEL] = channel


def _status_through_channel(workerinput):
    # the worker: pytest-rerunfailures' client DB, made to use the channel instead of the controller's TCP port
    channel = workerinput.pop(_STATUS_CHANNEL, None)
    plugin = sys.modules.get('pytest_rerunfailures')  # by entry point, or -p pytest_rerunfailures
    if channel is None or not hasattr(plugin, 'ClientStatusDB'):
        return

    class ChannelStatusDB(plugin.StatusDB):
        def __init__(self, sock_port):
            super().__init__()

        def _set(self, i, k, v):
            channel.send(('set', i, k, v))

        def _get(self, i, k):
            channel.send(('get', i, k, 0))
            return channel.receive()
    plugin.ClientStatusDB = ChannelStatusDB


@pytest.hookimpl(tryfirst=True)  # before pytest-rerunfailures' makes its ClientStatusDB
def pytest_configure(config):
    workerinput = getattr(config, 'workerinput', None)
    if workerinput is not None:
        _status_through_channel(workerinput)
        if _slot:
            _put('.worker', workerinput['workerid'])
        # pytest makes the basetemp itself (lazily, without parents) and the fixtures' directories in it
        basetemp = config.getoption('basetemp', None)
        if basetemp:
            os.makedirs(os.path.dirname(os.path.abspath(basetemp)), mode=0o700, exist_ok=True)
        return
    tx = os.environ.get('NSRUN_XDIST_TX')
    if not tx:
        return
    stray = [s for s in config.getoption('tx') or [] if s != tx]
    if stray:
        raise pytest.UsageError('nsrun xdist: workers %s (from addopts, PYTEST_ADDOPTS or -n) would run '
                                'outside the sandbox; remove them there' % ', '.join(map(repr, stray)))

if _slot:
    def pytest_runtest_logstart(nodeid, location):
        _put('.test', nodeid)

    def pytest_runtest_logfinish(nodeid, location):
        _put('.test', '')
