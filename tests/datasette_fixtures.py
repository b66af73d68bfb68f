"""A crafted reading list and a synchronous Datasette client for the Datasette tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from queue_fixtures import Builder
from readinglist.serve import build_datasette

OWNER_IDS = ("root", "owner")
HOSTILE_TITLE = '<script>alert("title")</script> Attention <b>is</b> all'
HOSTILE_SUMMARY = 'A summary with <script>alert(1)</script> and <a href="javascript:alert(2)">a link</a>\n\nSecond <i>para</i>.'
HOSTILE_URL = "javascript:alert(document.cookie)//https://arxiv.org/abs/1"


def iso_days_ago(days: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=days)).isoformat(timespec="seconds")


def build_list(path) -> dict:
    """Items of every interesting kind and state; returns their ids by role."""
    b = Builder(str(path))
    ids = {}
    ids["paper"] = b.item("https://arxiv.org/abs/1706.03762", "paper", "Attention Is All You Need", arxiv_id="1706.03762",
                          reading_minutes=25, summary="The Transformer architecture.", tags='["llm", "classic"]',
                          fetch_status="ok")
    ids["doi_paper"] = b.item("https://doi.org/10.1000/xyz", "paper", "A DOI paper", doi="10.1000/xyz")
    ids["repo"] = b.item("https://github.com/huggingface/transformers", "repo", "huggingface/transformers",
                         repo="huggingface/transformers", tags='["llm"]', priority="high")
    ids["article"] = b.item("https://habr.com/ru/articles/1/", "article", "Обзор трансформеров", summary="Статья про внимание.")
    ids["video"] = b.item("https://www.youtube.com/watch?v=abc", "video", "A talk about diffusion")
    ids["dead"] = b.item("https://example.com/gone", "article", "Gone page", fetch_status="dead", http_status=404,
                         last_error="HTTP 404", fetched_at=iso_days_ago(1))
    ids["snoozed"] = b.item("https://example.com/later", "article", "Snoozed page",
                            snoozed_until=(datetime.now() + timedelta(days=3)).date().isoformat())
    ids["channel"] = b.item("https://t.me/somechannel", "channel", "Some channel")
    ids["read"] = b.item("https://example.com/done", "article", "Read already", status="read", read_at=iso_days_ago(2))
    ids["hostile"] = b.item("https://evil.example/x", "article", HOSTILE_TITLE, summary=HOSTILE_SUMMARY)
    # Only a canonical http(s) URL is ever stored, but never trust it: a javascript: URL must not become a link.
    b.db.execute("UPDATE items SET url = ? WHERE id = ?", [HOSTILE_URL, ids["hostile"]])
    b.mention(ids["paper"], "ml_channel", 1, "attention paper, a must read")
    b.mention(ids["paper"], "Нейроканал", 2, "статья про трансформер")
    b.mention(ids["repo"], "ml_channel", 3, "the transformers library")
    b.mention(ids["article"], "Нейроканал", 1, "обзор")
    b.mention(ids["video"], "other_channel", 5, "diffusion talk", forwarded_from="ml_channel")
    b.mention(ids["hostile"], "other_channel", 0.5, "suspicious link")
    b.db.execute(
        "INSERT INTO events(item_id, time, action, value) VALUES (?, ?, 'read', NULL), (?, ?, 'read', NULL)",
        [ids["read"], iso_days_ago(2), ids["dead"], iso_days_ago(30)],
    )
    b.db.conn.commit()
    b.db.conn.close()
    return ids


class Client:
    """``datasette.client`` made synchronous, on one event loop, with an optional signed-in actor."""

    def __init__(self, ds):
        self.ds = ds
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(ds.invoke_startup())

    def actor_cookie(self, actor_id: str) -> dict:
        return {"ds_actor": self.ds.sign({"a": {"id": actor_id}}, "actor")}

    def get(self, path, cookies=None, **kwargs):
        return self.loop.run_until_complete(self.ds.client.get(path, cookies=cookies, **kwargs))

    def post(self, path, cookies=None, **kwargs):
        return self.loop.run_until_complete(self.ds.client.post(path, cookies=cookies, **kwargs))

    def json(self, path, cookies=None):
        response = self.get(path, cookies=cookies)
        assert response.status_code == 200, response.text
        return response.json()

    def csrf(self, path: str, cookies: dict) -> tuple[str, dict]:
        """The CSRF token from a page's form and the cookies (with ds_csrftoken) to send it with."""
        response = self.get(path, cookies=cookies)
        assert response.status_code == 200, response.text
        token = re.search(r'name="csrftoken" value="([^"]+)"', response.text).group(1)
        return token, {**cookies, "ds_csrftoken": response.cookies["ds_csrftoken"]}

    def write(self, query: str, data: dict, actor_id: str | None = "root"):
        """POST a writable canned query as ``actor_id`` with a valid CSRF token."""
        cookies = self.actor_cookie(actor_id) if actor_id else {}
        token, cookies = self.csrf(f"/readinglist/{query}", cookies)
        return self.post(f"/readinglist/{query}", cookies=cookies, data={**data, "csrftoken": token})

    def close(self):
        self.loop.close()


@pytest.fixture
def list_ids(db_path):
    return build_list(db_path)


@pytest.fixture
def client(db_path, list_ids):
    c = Client(build_datasette(db_path))
    yield c
    c.close()


# ------------------------------------------------------------------ a real `readinglist serve`


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``readinglist serve`` in a subprocess; ``url`` and the one-time ``root_link`` it printed."""

    def __init__(self, db_path, tmp_path, timeout: float = 60.0):
        import os
        import subprocess
        import sys
        import time

        import httpx

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "READINGLIST_PASSWORD_FILE": str(tmp_path / "no-password.json")}
        self.stderr_path = tmp_path / f"serve-{self.port}.stderr"
        self._stderr = open(self.stderr_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "readinglist.cli", "serve", "--db", str(db_path), "--port", str(self.port)],
            stdout=subprocess.PIPE, stderr=self._stderr, text=True, env=env,
        )
        self.lines = [self.process.stdout.readline().rstrip("\n") for _ in range(3)]
        links = [line.split(": ", 1)[1] for line in self.lines if line.startswith("Sign in as the owner")]
        if not links:
            self.stop()
            raise AssertionError(f"serve printed {self.lines!r}; stderr: {self.stderr()}")
        self.root_link = links[0]
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(self.url + "/-/versions.json", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"serve did not start: {self.stderr()}")
            time.sleep(0.2)

    def stderr(self) -> str:
        self._stderr.flush()
        return self.stderr_path.read_text()

    def stop(self) -> None:
        import subprocess

        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        self._stderr.close()


@pytest.fixture
def server(db_path, list_ids, tmp_path):
    s = Server(db_path, tmp_path)
    yield s
    s.stop()


def as_list(text) -> list:
    """A JSON list column as a list (anything else, malformed included, is empty), as the facet triggers read it."""
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return value if isinstance(value, list) else []


@contextlib.contextmanager
def client_with_other_database(db_path, other_path, create_sql: str, rows: list[tuple]):
    """A client of the reading list's Datasette that also serves ``other``: a database with its own ``items``."""
    import sqlite3

    from datasette.database import Database

    conn = sqlite3.connect(other_path)
    conn.execute(create_sql)
    conn.executemany(f"INSERT INTO items VALUES ({', '.join('?' * len(rows[0]))})", rows)
    conn.commit()
    conn.close()
    ds = build_datasette(db_path)
    ds.add_database(Database(ds, str(other_path)), name="other")
    c = Client(ds)
    try:
        yield c
    finally:
        c.close()
