"""nsrun xdist's pytest plugin, copied into each run's directory (on the workers' PYTHONPATH) and removed after it.

The worker side writes where nsrun exec says (NSRUN_XDIST_SLOT): the worker's id, then the test it is running, so
that nsrun can name the test a dead worker was running; and it makes the base of its --basetemp, which pytest-xdist
puts under the controller's (/tmp/pytest-of-USER/pytest-N/popen-gwK) where the worker's private /tmp lacks it. The controller side refuses workers that are not nsrun's
sandboxes: an addopts '-n 4' or '--tx popen' would start unsandboxed ones next to them.
"""
import os
import pytest
_slot = os.environ.get('NSRUN_XDIST_SLOT')

def _put(suffix, text):
    path = _slot + suffix
    with open(path + '.tmp', 'w', encoding='utf-8') as f:
        f.write(text)
    os.replace(path + '.tmp', path)

@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    # before xdist's own: --tx alone distributes nothing; 'load' unless the command line or addopts chose.
    # Not in a worker: xdist calls this there too, with dist 'no', and a worker must not start workers.
    if _slot or hasattr(config, 'workerinput') or not os.environ.get('NSRUN_XDIST_TX'):
        return
    if config.getoption('dist', 'no') == 'no':
        config.option.dist = 'load'

def pytest_configure(config):
    workerinput = getattr(config, 'workerinput', None)
    if workerinput is not None:
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
