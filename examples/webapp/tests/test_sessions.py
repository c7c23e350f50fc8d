"""Blocker 1: a shared directory inside the project (data/sessions/).
The `store` fixture deletes every test-* session; under xdist one worker's
cleanup deletes the sessions another worker is in the middle of using."""


def test_create_and_load(store, browse):
    store.create("test-alice", "alice", cart=[])
    s = browse("test-alice")
    assert s["user"] == "alice" and s["hits"] == 4


def test_hits_are_counted(store, browse):
    store.create("test-bob", "bob")
    s = browse("test-bob", n=6, interval=0.05)
    assert s["hits"] == 6


def test_list_sessions(store, browse):
    for u in ("carol", "dave", "erin"):
        store.create(f"test-{u}", u)
    browse("test-carol")
    assert store.ids("test-") == ["test-carol", "test-dave", "test-erin"]


def test_logout_deletes_session(store, browse):
    store.create("test-frank", "frank")
    browse("test-frank")
    store.delete("test-frank")
    assert "test-frank" not in store.ids("test-")


def test_purge(store, browse):
    store.create("test-grace", "grace")
    store.create("test-heidi", "heidi")
    browse("test-grace")
    assert store.purge("test-") == 2
    assert store.ids("test-") == []


def test_session_survives_a_long_visit(store, browse):
    store.create("test-ivan", "ivan", cart=["book"])
    s = browse("test-ivan", n=8, interval=0.05)
    assert s["cart"] == ["book"] and s["hits"] == 8
