"""The upload cache: the same reference is uploaded once while its URL is still good."""
from __future__ import annotations

import threading

import pytest

from ..runninghub_video.remote import facts
from ..runninghub_video.ledger.upload_cache import CACHE_FILE, UploadCache

SHA = "ab" * 32
URL = "https://rh-images.example/openapi/abc.png?sign=1"
T0 = 1_000_000.0


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNNINGHUB_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


@pytest.fixture
def cache(state) -> UploadCache:
    return UploadCache()


def test_second_run_reuses_the_uploaded_url(cache, state):
    cache.put(SHA, "cn", URL, now=T0)
    assert cache.get(SHA, "cn", now=T0 + 60) == URL
    assert (state / CACHE_FILE).is_file()


def test_unknown_content_is_a_miss_and_creates_nothing(cache, state):
    assert cache.get(SHA, "cn") is None
    cache.forget(SHA, "cn")
    assert not state.exists()


def test_cached_url_expires_well_before_runninghub_forgets_it(cache):
    assert facts.UPLOAD_CACHE_TTL_S <= facts.UPLOAD_URL_LIFETIME_S - 3600
    cache.put(SHA, "cn", URL, now=T0)
    assert cache.get(SHA, "cn", now=T0 + facts.UPLOAD_CACHE_TTL_S - 1) == URL
    assert cache.get(SHA, "cn", now=T0 + facts.UPLOAD_CACHE_TTL_S + 1) is None


def test_sites_never_share_uploads(cache):
    cache.put(SHA, "cn", URL, now=T0)
    assert cache.get(SHA, "ai", now=T0) is None
    cache.put(SHA, "ai", URL + "-ai", now=T0)
    assert cache.get(SHA, "cn", now=T0) == URL and cache.get(SHA, "ai", now=T0) == URL + "-ai"


def test_rejected_url_is_forgotten_so_the_next_run_reuploads(cache):
    cache.put(SHA, "cn", URL, now=T0)
    cache.put("cd" * 32, "cn", "https://other", now=T0)
    cache.forget(SHA, "cn")
    assert cache.get(SHA, "cn", now=T0) is None
    assert cache.get("cd" * 32, "cn", now=T0) == "https://other"


def test_new_upload_replaces_the_old_url(cache):
    cache.put(SHA, "cn", URL, now=T0)
    cache.put(SHA, "cn", URL + "&v=2", now=T0 + 10)
    assert cache.get(SHA, "cn", now=T0 + 20) == URL + "&v=2"


def test_cache_survives_a_restart(state):
    UploadCache().put(SHA, "cn", URL, now=T0)
    assert UploadCache().get(SHA, "cn", now=T0 + 1) == URL


def test_threads_can_share_the_cache(cache):
    def worker(n: int) -> None:
        for i in range(10):
            cache.put(f"{n:02d}{i:062d}", "cn", f"https://u/{n}/{i}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(cache.get(f"{n:02d}{i:062d}", "cn") == f"https://u/{n}/{i}" for n in range(6) for i in range(10))


def test_a_cache_from_an_older_pack_is_made_afresh_and_keeps_working(state):
    import sqlite3

    from ..runninghub_video.ledger.upload_cache import _MIGRATIONS

    state.mkdir(parents=True)
    with sqlite3.connect(state / CACHE_FILE) as conn:  # version 1: with a size column, NOT NULL
        conn.executescript(_MIGRATIONS[0] + "PRAGMA user_version = 1;")
        conn.execute("INSERT INTO uploads VALUES (?, 'cn', ?, 3490, ?)", (SHA, URL, T0))
    conn.close()
    cache = UploadCache()
    assert cache.get(SHA, "cn", now=T0 + 1) is None  # disposable: one re-upload after the upgrade
    cache.put(SHA, "cn", URL + "&v=2", now=T0 + 2)
    assert cache.get(SHA, "cn", now=T0 + 3) == URL + "&v=2"


def test_damage_found_mid_query_is_a_miss_and_the_cache_starts_afresh(state):
    """The file opens and its schema reads, but the table's pages are garbage: found only by the query."""
    import sqlite3

    cache = UploadCache()
    cache.put(SHA, "cn", URL, now=T0)
    with sqlite3.connect(state / CACHE_FILE) as conn:  # enough rows for the table to fill many pages
        conn.executemany("INSERT INTO uploads VALUES (?, 'cn', ?, ?)",
                         [(f"{i:064d}", URL + "&n=" + "x" * 200, T0) for i in range(2000)])
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray((state / CACHE_FILE).read_bytes())
    page = 4096
    for start in range(3 * page, len(data), page):  # pages 1–3 (header, schema) stay readable
        data[start:start + 100] = b"\xff" * 100
    (state / CACHE_FILE).write_bytes(bytes(data))

    assert cache.get(f"{5:064d}", "cn", now=T0 + 1) is None
    assert list(state.glob(f"{CACHE_FILE}.damaged-*"))
    cache.put(SHA, "cn", URL + "&v=2", now=T0 + 2)
    assert cache.get(SHA, "cn", now=T0 + 3) == URL + "&v=2"
