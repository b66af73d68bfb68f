"""Only the owner changes anything: allow blocks, CSRF, writes recorded as events, password sign-in."""

from __future__ import annotations

import json
import os
import stat

import pytest
from click.testing import CliRunner

from datasette_fixtures import client, list_ids  # noqa: F401  (fixtures)
from readinglist.cli import cli
from readinglist.db import open_db
from readinglist.queue import show_item
from readinglist.serve import build_datasette, load_metadata, load_password_hash, save_password
from datasette_fixtures import Client

WRITES = {
    # query: (form data, expected change of the item, expected event (action, value))
    "mark_read": ({}, {"status": "read"}, ("read", None)),
    "mark_unread": ({}, {"status": "unread", "read_at": None}, ("unread", None)),
    "set_priority": ({"priority": "low"}, {"priority": "low"}, ("priority", "low")),
    "add_tag": ({"tag": "+to-try"}, {"tags": ["llm", "classic", "to-try"]}, ("tag", "+to-try")),
}


def item_state(db_path, item_id):
    db = open_db(db_path)
    try:
        return show_item(db, item_id)
    finally:
        db.conn.close()


def test_every_write_query_is_restricted_to_the_owner():
    queries = load_metadata()["databases"]["readinglist"]["queries"]
    writable = {name for name, query in queries.items() if query.get("write")}
    assert writable == set(WRITES)
    for name in writable:
        assert queries[name]["allow"] == {"id": ["root", "owner"]}, name


@pytest.mark.parametrize("query", sorted(WRITES))
@pytest.mark.parametrize("who", [None, "someone"])
def test_others_cannot_run_or_even_see_write_queries(client, db_path, list_ids, query, who):
    cookies = client.actor_cookie(who) if who else None
    item_id = list_ids["paper"]
    data = {"item_id": item_id, **WRITES[query][0]}
    before = item_state(db_path, item_id)
    if who:
        # A signed-in non-owner has a CSRF cookie: give it a valid token, so only the allow block can refuse.
        token, cookies = client.csrf("/readinglist/queue", cookies)
        data["csrftoken"] = token
    refused = client.post(f"/readinglist/{query}", cookies=cookies, data=data)
    assert refused.status_code == 403
    assert "You do not have permission to view this query" in refused.text  # the allow block, not CSRF
    assert client.post(f"/readinglist/{query}?_json=1", cookies=cookies, json=data).status_code == 403
    assert client.get(f"/readinglist/{query}", cookies=cookies).status_code == 403
    assert query not in {q["name"] for q in client.json("/readinglist.json", cookies=cookies)["queries"]}
    assert item_state(db_path, item_id) == before


@pytest.mark.parametrize("query", sorted(WRITES))
@pytest.mark.parametrize("owner", ["root", "owner"])
def test_owner_writes_change_the_item_and_record_one_event(client, db_path, list_ids, query, owner):
    form, change, (action, value) = WRITES[query]
    item_id = list_ids["paper"]
    response = client.write(query, {"item_id": item_id, **form}, actor_id=owner)
    assert response.status_code == 302
    item = item_state(db_path, item_id)
    for field, expected in change.items():
        assert item[field] == expected, field
    assert [(e["action"], e["value"]) for e in item["history"]] == [(action, value)]
    if action == "read":
        assert item["read_at"] == item["history"][0]["time"]


@pytest.mark.parametrize(
    "typed, tags, events",
    [
        ("+LLM", ["llm", "classic"], []),  # the item has it, spelled otherwise: as `tag ID +LLM`, no change, no event
        ("#Classic", ["llm", "classic"], []),
        ("llm", ["llm", "classic"], []),
        ("+Ёлка", ["llm", "classic", "Ёлка"], [("tag", "+Ёлка")]),
    ],
)
def test_add_tag_compares_tags_as_the_cli_does(client, db_path, list_ids, typed, tags, events):
    item_id = list_ids["paper"]
    assert client.write("add_tag", {"item_id": item_id, "tag": typed}).status_code == 302
    item = item_state(db_path, item_id)
    assert item["tags"] == tags
    assert [(e["action"], e["value"]) for e in item["history"]] == events
    if events:  # and once added, another spelling of it is no new tag either
        assert client.write("add_tag", {"item_id": item_id, "tag": "елка"}).status_code == 302
        assert item_state(db_path, item_id)["tags"] == tags and len(item_state(db_path, item_id)["history"]) == 1


def test_migration_m018_gives_an_older_database_the_trigger_that_compares_by_name(tmp_path):
    from readinglist.db import ITEM_ACTIONS_TRIGGER

    path = str(tmp_path / "old.db")
    db = open_db(path, create=True)
    older = ITEM_ACTIONS_TRIGGER.replace("readinglist_name_key", "")  # compared as written, as before m018
    with db.conn:
        db.execute("DROP TRIGGER item_actions_apply")
        db.execute(older)
        db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm018_web_tags_compared_by_name'")
    db.conn.close()
    trigger = "SELECT sql FROM sqlite_master WHERE name = 'item_actions_apply'"
    assert "readinglist_name_key" in open_db(path).execute(trigger).fetchone()[0]


def test_mark_read_then_unread_from_the_web_matches_the_cli_history(client, db_path, list_ids):
    item_id = list_ids["repo"]
    client.write("mark_read", {"item_id": item_id})
    client.write("mark_unread", {"item_id": item_id})
    assert CliRunner().invoke(cli, ["read", item_id, "--db", str(db_path)]).exit_code == 0
    history = item_state(db_path, item_id)["history"]
    assert [e["action"] for e in history] == ["read", "unread", "read"]


def test_mark_read_leaves_the_queue(client, list_ids):
    item_id = list_ids["paper"]
    assert item_id in {row["id"] for row in client.json("/readinglist/queue.json?_shape=array")}
    response = client.write("mark_read", {"item_id": item_id})
    assert response.headers["location"] == "/-/next"
    assert item_id not in {row["id"] for row in client.json("/readinglist/queue.json?_shape=array")}


@pytest.mark.parametrize(
    "query, data, message",
    [
        ("mark_read", {"item_id": "nosuchitem00"}, "no item has this id"),
        ("set_priority", {"priority": "urgent"}, "priority must be one of high, normal, low"),
        ("add_tag", {"tag": "  "}, "invalid tag (use a word, optionally with a leading +)"),
        ("add_tag", {"tag": "-old"}, "invalid tag (use a word, optionally with a leading +)"),
    ],
)
def test_bad_input_changes_nothing(client, db_path, list_ids, query, data, message):
    item_id = list_ids["paper"]
    before = item_state(db_path, item_id)
    response = client.write(query, {"item_id": item_id, **data, "_json": "1"})
    assert response.json() == {"ok": False, "message": message, "redirect": None}
    assert item_state(db_path, item_id) == before


def test_csrf_is_enforced_for_the_owner(client, db_path, list_ids):
    item_id = list_ids["paper"]
    cookies = client.actor_cookie("root")
    token, with_csrf_cookie = client.csrf("/readinglist/mark_read", cookies)
    # No token, a wrong token, a token without its cookie: all refused.
    assert client.post("/readinglist/mark_read", cookies=with_csrf_cookie, data={"item_id": item_id}).status_code == 403
    assert client.post(
        "/readinglist/mark_read", cookies=with_csrf_cookie, data={"item_id": item_id, "csrftoken": token[:-2] + "xx"}
    ).status_code == 403
    assert client.post("/readinglist/mark_read", cookies=cookies, data={"item_id": item_id, "csrftoken": token}).status_code == 403
    assert item_state(db_path, item_id)["status"] == "unread"
    ok = client.post("/readinglist/mark_read", cookies=with_csrf_cookie, data={"item_id": item_id, "csrftoken": token})
    assert ok.status_code == 302
    assert item_state(db_path, item_id)["status"] == "read"


def test_forged_actor_cookie_is_ignored(client, db_path, list_ids):
    other = Client(build_datasette(db_path, secret="another-secret"))
    forged = other.actor_cookie("root")  # signed with a secret the server does not know
    other.close()
    token, cookies = client.csrf("/-/login", forged)
    response = client.post("/readinglist/mark_read", cookies=cookies, data={"item_id": list_ids["paper"], "csrftoken": token})
    assert response.status_code == 403


def test_root_login_link_is_one_time(client):
    token = client.ds._root_token
    first = client.get(f"/-/auth-token?token={token}")
    assert first.status_code == 302
    actor = client.ds.unsign(first.cookies["ds_actor"], "actor")
    assert actor == {"a": {"id": "root"}}
    assert client.get(f"/-/auth-token?token={token}").status_code == 403


# ------------------------------------------------------------------ the owner's password


@pytest.fixture
def password_file(tmp_path, monkeypatch):
    path = tmp_path / "config" / "datasette-password.json"
    monkeypatch.setenv("READINGLIST_PASSWORD_FILE", str(path))
    return path


def test_set_password_stores_only_a_hash(password_file):
    result = CliRunner().invoke(cli, ["set-password"], input="s3cret pass\ns3cret pass\n")
    assert result.exit_code == 0, result.output
    assert result.output.endswith(
        f'Password saved (hash only) to {password_file}. Sign in as "owner" at /-/login after readinglist serve.\n'
    )
    text = password_file.read_text()
    assert "s3cret" not in text
    assert json.loads(text)["username"] == "owner"
    assert load_password_hash().startswith("pbkdf2_sha256$")
    assert stat.S_IMODE(os.stat(password_file).st_mode) == 0o600


def test_set_password_needs_the_same_password_twice(password_file):
    result = CliRunner().invoke(cli, ["set-password"], input="one\ntwo\n")
    assert result.exit_code == 1
    assert "Error: The two entered values do not match." in result.output
    assert not password_file.exists()


def test_corrupt_password_file_is_a_one_line_error(password_file, db_path, list_ids):
    password_file.parent.mkdir(parents=True)
    password_file.write_text("{}")
    result = CliRunner().invoke(cli, ["serve", "--db", str(db_path)])
    assert result.exit_code == 1
    assert result.output == f"Error: {password_file}: no password hash in it; run readinglist set-password\n"


@pytest.mark.parametrize(
    "content, message",
    [
        (b"- title: Reading list\n- databases: {}\n", "metadata must be a mapping (title:, databases: ...)"),
        (b"[]", "metadata must be a mapping (title:, databases: ...)"),
        (b"", "metadata must be a mapping (title:, databases: ...)"),
        ("title: Lecture caf\u00e9\n".encode("latin-1"), "not UTF-8 text (byte 18)"),
    ],
)
def test_serve_refuses_metadata_that_is_no_mapping_or_no_utf8(db_path, list_ids, tmp_path, content, message):
    """They crashed with a traceback (ValueError, UnicodeDecodeError)."""
    path = tmp_path / "metadata.yml"
    path.write_bytes(content)
    result = CliRunner().invoke(cli, ["serve", "--db", str(db_path), "--metadata", str(path)])
    assert (result.exit_code, result.output) == (1, f"Error: {path}: {message}\n")


def test_serve_refuses_a_missing_database(tmp_path):
    missing = tmp_path / "nope.db"
    result = CliRunner().invoke(cli, ["serve", "--db", str(missing)])
    assert result.exit_code == 1
    assert result.output == f"Error: {missing}: no such database (run readinglist harvest first)\n"
    assert not missing.exists()


def test_serve_refuses_a_port_in_use(db_path, list_ids, password_file):
    import socket

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        result = CliRunner().invoke(cli, ["serve", "--db", str(db_path), "--port", str(port)])
    finally:
        taken.close()
    assert result.exit_code == 1
    assert result.output == f"Error: cannot listen on 127.0.0.1:{port}: address already in use (try another --port)\n"


def test_ctrl_c_stops_serve_quietly(db_path, list_ids, tmp_path):
    """Ctrl-C is how serve is stopped: exit status 0, nothing printed (not click's "Aborted!", status 1)."""
    import signal

    from datasette_fixtures import Server

    server = Server(db_path, tmp_path)
    try:
        server.process.send_signal(signal.SIGINT)
        assert server.process.wait(timeout=30) == 0
        assert (server.process.stdout.read(), server.stderr()) == ("", "")
    finally:
        server.stop()


def test_password_sign_in_lets_the_owner_write(password_file, db_path, list_ids):
    save_password("correct horse")
    c = Client(build_datasette(db_path, password_hash=load_password_hash()))
    try:
        token, cookies = c.csrf("/-/login", {})
        wrong = c.post("/-/login", cookies=cookies, data={"username": "owner", "password": "wrong", "csrftoken": token})
        assert "ds_actor" not in wrong.cookies
        response = c.post("/-/login", cookies=cookies, data={"username": "owner", "password": "correct horse", "csrftoken": token})
        assert response.status_code == 302
        owner = {"ds_actor": response.cookies["ds_actor"]}
        token, cookies = c.csrf("/readinglist/mark_read", owner)
        done = c.post("/readinglist/mark_read", cookies=cookies, data={"item_id": list_ids["video"], "csrftoken": token})
        assert done.status_code == 302
        assert item_state(db_path, list_ids["video"])["status"] == "read"
    finally:
        c.close()
