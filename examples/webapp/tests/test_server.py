"""Blocker 2: a server on a fixed port (127.0.0.1:8080).
The module fixture starts it once per module; a second worker running this
module at the same time gets EADDRINUSE."""
import json
import threading
import urllib.error
import urllib.request

import pytest

from webapp import server as app_server


@pytest.fixture(scope="module")
def base_url():
    srv = app_server.make_server()          # binds 127.0.0.1:8080
    yield f"http://{app_server.HOST}:{app_server.PORT}"
    srv.shutdown()
    srv.server_close()


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def test_health(base_url):
    assert get(base_url + "/health") == (200, {"status": "ok"})


def test_unknown_path(base_url):
    assert get(base_url + "/nope")[0] == 404


def test_echo(base_url):
    req = urllib.request.Request(base_url + "/echo", data=json.dumps({"a": 1}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        assert json.load(r) == {"echo": {"a": 1}}


def test_slow_report(base_url):
    assert get(base_url + "/slow") == (200, {"status": "done"})


def test_parallel_clients(base_url):
    results = []
    threads = [threading.Thread(target=lambda: results.append(get(base_url + "/slow")))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [(200, {"status": "done"})] * 4


def test_session_lookup(base_url, store):
    store.create("test-web", "walter")
    get(base_url + "/slow")
    status, body = get(base_url + "/sessions/test-web")
    assert status == 200 and body["user"] == "walter"
