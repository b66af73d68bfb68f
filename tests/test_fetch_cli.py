"""`readinglist fetch`: options, settings from flags/env/config, output and exit codes."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from fetch_server import LocalServer, Reply, add_items, html_page
from readinglist.cli import cli
from readinglist.db import open_db

HTML = {"Content-Type": "text/html; charset=utf-8"}
CONFIG = "per_host_delay = 0.0\nattempts = 1\n"


@pytest.fixture
def server():
    with LocalServer() as running:
        yield running


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def invoke(db_path, config, *args, env=None):
    env = {"READINGLIST_ALLOW_PRIVATE": "", **(env or {})}
    return CliRunner().invoke(cli, ["fetch", "--db", str(db_path), "--config", str(config), *args], env=env)


def listed(db_path):
    result = CliRunner().invoke(cli, ["list", "--status", "all", "--json", "--db", str(db_path)])
    return {item["url"]: item for item in json.loads(result.output)}


def test_fetch_reports_a_summary_and_lists_the_fields(db_path, config, server):
    ok = server.add("/article", Reply(200, html_page("Attention, explained", "Attention lets a model weigh words. " * 40), HTML))
    gone = server.add("/gone", Reply(404, b""))
    add_items(open_db(db_path), [ok, gone])
    result = invoke(db_path, config, "--allow-private")
    assert (result.exit_code, result.output) == (0, "Fetched 2 items: 1 ok, 0 failed, 1 dead, 0 skipped.\n")
    items = listed(db_path)
    assert items[ok]["title"] == "Attention, explained"
    assert (items[ok]["fetch_status"], items[ok]["http_status"], items[ok]["language"]) == ("ok", 200, "en")
    assert items[ok]["summary"].startswith("Attention lets a model weigh words.")
    assert items[ok]["word_count"] > 100 and items[ok]["reading_minutes"] >= 1
    assert (items[gone]["fetch_status"], items[gone]["error"]) == ("dead", "HTTP 404 Not Found")


def test_private_addresses_are_refused_by_default(db_path, config, server):
    url = server.add("/a", Reply(200, html_page("A"), HTML))
    add_items(open_db(db_path), [url])
    result = invoke(db_path, config)
    assert (result.exit_code, result.output) == (0, "Fetched 1 item: 0 ok, 0 failed, 0 dead, 1 skipped.\n")
    assert listed(db_path)[url]["error"] == "refused: 127.0.0.1 resolves to a private address (127.0.0.1)"
    assert server.hits["/a"] == 0
    # The environment variable opens it, like --allow-private; skipped items come back with --retry-failed.
    result = invoke(db_path, config, "--retry-failed", env={"READINGLIST_ALLOW_PRIVATE": "1"})
    assert (result.exit_code, result.output) == (0, "Fetched 1 item: 1 ok, 0 failed, 0 dead, 0 skipped.\n")


def test_config_allow_hosts_lets_a_network_through(db_path, config, server):
    config.write_text(CONFIG + 'allow_hosts = ["127.0.0.0/8"]\n', encoding="utf-8")
    add_items(open_db(db_path), [server.add("/a", Reply(200, html_page("A"), HTML))])
    assert invoke(db_path, config).output == "Fetched 1 item: 1 ok, 0 failed, 0 dead, 0 skipped.\n"


@pytest.mark.parametrize(
    "in_file, in_env, flags, status",
    [
        ("true", "", (), "ok"),
        ("true", "0", (), "skipped"),  # the environment closes the guard the file opened
        ("true", "no", (), "skipped"),
        ("false", "1", (), "ok"),
        ("false", "On", (), "ok"),
        ("true", "1", ("--no-allow-private",), "skipped"),  # and a flag beats both
        ("false", "off", ("--allow-private",), "ok"),
    ],
)
def test_allow_private_precedence_is_flags_then_env_then_file(db_path, config, server, in_file, in_env, flags, status):
    config.write_text(CONFIG + f"allow_private = {in_file}\n", encoding="utf-8")
    url = server.add("/a", Reply(200, html_page("A"), HTML))
    add_items(open_db(db_path), [url])
    result = invoke(db_path, config, *flags, env={"READINGLIST_ALLOW_PRIVATE": in_env})
    assert (result.exit_code, listed(db_path)[url]["fetch_status"]) == (0, status)


@pytest.mark.parametrize(
    "value, allow_private",
    [("1", True), ("TRUE", True), ("yes", True), ("on", True), ("0", False), ("false", False), ("No", False),
     (" off ", False), ("", None), ("  ", None)],
)
def test_allow_private_environment_spellings(value, allow_private):
    from harvester.settings import env_overrides

    assert env_overrides({"READINGLIST_ALLOW_PRIVATE": value}).get("allow_private") == allow_private


def test_allow_private_environment_other_words_are_an_error(db_path, config):
    result = invoke(db_path, config, env={"READINGLIST_ALLOW_PRIVATE": "maybe"})
    assert (result.exit_code, result.output) == (
        1, "Error: READINGLIST_ALLOW_PRIVATE: expected 1/0, true/false, yes/no or on/off, got 'maybe'\n"
    )


def test_ignore_robots(db_path, config, server):
    server.add("/robots.txt", Reply(200, b"User-agent: *\nDisallow: /\n", {"Content-Type": "text/plain"}))
    url = server.add("/a", Reply(200, html_page("A"), HTML))
    add_items(open_db(db_path), [url])
    assert invoke(db_path, config, "--allow-private").output == "Fetched 1 item: 0 ok, 0 failed, 0 dead, 1 skipped.\n"
    assert listed(db_path)[url]["error"] == "disallowed by robots.txt"
    result = invoke(db_path, config, "--allow-private", "--ignore-robots", "--retry-failed")
    assert result.output == "Fetched 1 item: 1 ok, 0 failed, 0 dead, 0 skipped.\n"


def test_respect_robots_beats_the_config_file(db_path, tmp_path, server):
    config = tmp_path / "ignoring.toml"
    config.write_text("per_host_delay = 0.0\nrespect_robots = false\nattempts = 1\n", encoding="utf-8")
    server.add("/robots.txt", Reply(200, b"User-agent: *\nDisallow: /\n", {"Content-Type": "text/plain"}))
    url = server.add("/a", Reply(200, html_page("A"), HTML))
    add_items(open_db(db_path), [url])
    result = invoke(db_path, config, "--allow-private", "--respect-robots")
    assert result.output == "Fetched 1 item: 0 ok, 0 failed, 0 dead, 1 skipped.\n"


def test_limit_kind_and_quiet(db_path, config, server):
    db = open_db(db_path)
    add_items(db, [server.add(f"/p{i}", Reply(200, html_page(f"P{i}"), HTML)) for i in range(3)], kind="paper")
    add_items(db, [server.add("/a", Reply(200, html_page("A"), HTML))])
    result = invoke(db_path, config, "--allow-private", "--kind", "paper", "--limit", "2", "--concurrency", "4", "--per-host", "1")
    assert result.output == "Fetched 2 items: 2 ok, 0 failed, 0 dead, 0 skipped.\n"
    result = invoke(db_path, config, "--allow-private", "--quiet")
    assert (result.exit_code, result.output) == (0, "")
    result = invoke(db_path, config, "--allow-private")
    assert result.output == "Nothing to fetch (every item is fetched; --retry-failed or --refresh fetch again).\n"


LATER, LATEST, LAST = "2999-01-01T00:00:00+00:00", "2999-01-02T00:00:00+00:00", "2999-01-03T00:00:00+00:00"
NOTHING_LEFT = "Nothing to fetch (every item is fetched; --retry-failed or --refresh fetch again).\n"
ONE_FAILED_WAITS = "Nothing due: 1 item waits for its retry time, at 2999-01-01 00:00 UTC; --retry-failed retries it now.\n"


@pytest.mark.parametrize(
    "rows, args, output",
    [
        ([("failed", LATER, "article")], (), ONE_FAILED_WAITS),
        ([("failed", LATEST, "article"), ("failed", LATER, "paper"), ("pending", LAST, "article")], (),
         ("Nothing due: 3 items wait for their retry time, the first at 2999-01-01 00:00 UTC;"
          " --retry-failed retries the failed ones now.\n")),
        # Deferred by a site's rate limit: --retry-failed does not take it.
        ([("pending", LAST, "article")], (), "Nothing due: 1 item waits for its retry time, at 2999-01-03 00:00 UTC.\n"),
        # A site item (the site stage's) waits too, however often it failed.
        ([("failed", LATER, "repo")], (), ONE_FAILED_WAITS),
        ([("failed", LATER, "article"), ("failed", LAST, "paper")], ("--kind", "paper"),
         "Nothing due: 1 item waits for its retry time, at 2999-01-03 00:00 UTC; --retry-failed retries it now.\n"),
        ([("failed", LATER, "article")], ("--kind", "paper"), NOTHING_LEFT),
        ([("ok", None, "article"), ("dead", None, "article")], (), NOTHING_LEFT),
        ([("pending", None, "channel")], ("--kind", "channel"), "Nothing to fetch: channel items are never fetched.\n"),
    ],
)
def test_nothing_to_fetch_says_why(db_path, config, rows, args, output):
    db = open_db(db_path)
    for number, (status, retry_at, kind) in enumerate(rows):
        url = f"https://github.com/owner/repo{number}" if kind == "repo" else f"http://127.0.0.1:9/{number}"
        [item_id] = add_items(db, [url], kind=kind)
        db["items"].update(item_id, {"fetch_status": status, "next_retry_at": retry_at, "attempts": 40,
                                     "repo": f"owner/repo{number}" if kind == "repo" else None})
    db.conn.commit()
    result = invoke(db_path, config, *args)
    assert (result.exit_code, result.output) == (0, output)


def test_bad_config_is_one_error_line(db_path, config):
    config.write_text("colour = 'blue'\n", encoding="utf-8")
    result = invoke(db_path, config)
    assert (result.exit_code, result.output) == (1, f"Error: {config}: unknown setting 'colour'\n")


# A config line and the error it gets: a wrong type is never read by its truthiness or split into characters.
BAD_CONFIG_VALUES = [
    ('allow_private = "false"', "allow_private: expected true or false, got 'false'"),
    ('respect_robots = "false"', "respect_robots: expected true or false, got 'false'"),
    ("allow_private = 1", "allow_private: expected true or false, got 1"),
    ('concurrency = "16"', "concurrency: expected an integer >= 1, got '16'"),
    ("concurrency = true", "concurrency: expected an integer >= 1, got true"),
    ("per_host = 1.5", "per_host: expected an integer >= 1, got 1.5"),
    ("user_agent = 5", "user_agent: expected a string of printable ASCII characters, got 5"),
    # httpx cannot encode it (a traceback); a newline ends the header, so every request failed.
    ('user_agent = "Jürgen reading bot"', "user_agent: expected a string of printable ASCII characters, got 'Jürgen reading bot'"),
    ('user_agent = "reader\\nX-Injected: 1"',
     "user_agent: expected a string of printable ASCII characters, got 'reader\\nX-Injected: 1'"),
    ('user_agent = "reader\\tbot"', "user_agent: expected a string of printable ASCII characters, got 'reader\\tbot'"),
    ('max_bytes = "big"', "max_bytes: expected an integer >= 1, got 'big'"),
    ("max_bytes = 0", "max_bytes: expected an integer >= 1, got 0"),
    ('connect_timeout = "x"', "connect_timeout: expected a number > 0, got 'x'"),
    ("total_timeout = 0", "total_timeout: expected a number > 0, got 0"),
    ("[fetch]\nread_timeout = -1.0", "read_timeout: expected a number > 0, got -1.0"),
    ("per_host_delay = -0.5", "per_host_delay: expected a number >= 0, got -0.5"),
    ("max_redirects = -1", "max_redirects: expected an integer >= 0, got -1"),
    ("attempts = 0", "attempts: expected an integer >= 1, got 0"),
    ("max_retry_after = 0", "max_retry_after: expected a number > 0, got 0"),
    ('allow_hosts = "127.0.0.1"', "allow_hosts: expected a list of strings, got '127.0.0.1'"),
    ('allow_hosts = ["a.example", 10]', "allow_hosts: expected a list of strings, got ['a.example', 10]"),
    ('[urls]\ngithub_api = "localhost:8000"', "github_api: expected an http or https URL, got 'localhost:8000'"),
    ("github_token = 12", "github_token: expected a string, got 12"),
]


@pytest.mark.parametrize("line, message", BAD_CONFIG_VALUES)
def test_a_bad_config_value_is_one_error_line_before_any_work(db_path, config, server, line, message):
    url = server.add("/a", Reply(200, html_page("A"), HTML))
    add_items(open_db(db_path), [url])
    config.write_text(line + "\n", encoding="utf-8")
    result = invoke(db_path, config)
    assert (result.exit_code, result.output) == (1, f"Error: {config}: {message}\n")
    assert server.hits["/a"] == 0 and listed(db_path)[url]["fetch_status"] == "pending"


@pytest.mark.parametrize("line, message", BAD_CONFIG_VALUES)
def test_load_settings_checks_config_values(config, line, message):
    from readinglist.config import ConfigError, load_settings

    config.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_settings(config, environ={})
    assert str(raised.value) == f"{config}: {message}"


def test_good_config_values_are_taken_as_settings(config):
    from readinglist.config import load_settings

    config.write_text('per_host_delay = 0\nallow_hosts = ["10.1.0.0/16"]\n[fetch]\nrespect_robots = false\n', encoding="utf-8")
    settings = load_settings(config, environ={})
    assert (settings.per_host_delay, settings.allow_hosts, settings.respect_robots) == (0.0, ("10.1.0.0/16",), False)
    assert isinstance(settings.per_host_delay, float)


@pytest.mark.parametrize(
    "environ, flags, message",
    [
        ({"READINGLIST_GITHUB_API": "api.github.local"}, {},
         "READINGLIST_GITHUB_API: expected an http or https URL, got 'api.github.local'"),
        ({}, {"concurrency": 0}, "concurrency: expected an integer >= 1, got 0"),
        ({}, {"colour": "blue"}, "unknown setting 'colour'"),
    ],
)
def test_environment_and_flags_go_through_the_same_checks(config, environ, flags, message):
    from readinglist.config import ConfigError, load_settings

    with pytest.raises(ConfigError) as raised:
        load_settings(config, flags, environ=environ)
    assert str(raised.value) == message


def test_a_bad_environment_value_is_one_error_line(db_path, config):
    result = invoke(db_path, config, env={"READINGLIST_GITHUB_API": "api.github.local"})
    assert (result.exit_code, result.output) == (
        1, "Error: READINGLIST_GITHUB_API: expected an http or https URL, got 'api.github.local'\n"
    )


@pytest.mark.parametrize(
    "token, reason",
    [
        ("ghp_SECRET1234\n# from the token file's second line", "it holds a line break"),
        ("ghp_SECRET 1234", "it holds a space"),
        ("ghp_tökén", "it holds a non-ASCII character"),
        ("ghp_SECRET\x7f1234", "it holds a control character"),
    ],
)
def test_a_malformed_github_token_is_one_error_line_that_does_not_show_it(db_path, config, server, token, reason):
    # A second line went into the Authorization header: every request failed with
    # "Illegal header value b'Bearer ghp_...'", stored and shown to Datasette's visitors;
    # a non-ASCII character crashed fetch with a traceback.
    url = server.add("/a", Reply(200, html_page("A"), HTML))
    add_items(open_db(db_path), [url])
    result = invoke(db_path, config, "--allow-private", env={"GITHUB_TOKEN": token})
    assert (result.exit_code, result.output) == (1, f"Error: GITHUB_TOKEN: not a valid token ({reason})\n")
    assert server.hits["/a"] == 0 and listed(db_path)[url]["fetch_status"] == "pending"


@pytest.mark.parametrize(
    "source, line",
    [("environment", "  ghp_SECRET1234\n"), ("config", 'github_token = " ghp_SECRET1234\\n"')],
)
def test_a_github_token_loses_the_whitespace_around_it(config, source, line):
    from readinglist.config import load_settings

    if source == "config":
        config.write_text(line + "\n", encoding="utf-8")
    settings = load_settings(config, environ={"GITHUB_TOKEN": line} if source == "environment" else {})
    assert settings.github_token == "ghp_SECRET1234"


def test_a_malformed_github_token_in_the_config_file_is_not_shown(config):
    from readinglist.config import ConfigError, load_settings

    config.write_text('github_token = "ghp_SECRET1234\\nsecond line"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_settings(config, environ={})
    assert str(raised.value) == f"{config}: github_token: not a valid token (it holds a line break)"


@pytest.mark.parametrize("option", ["--concurrency", "--per-host", "--limit"])
def test_non_positive_numbers_are_usage_errors(db_path, config, option):
    result = invoke(db_path, config, option, "0")
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: Invalid value for '{option}'")
    allowed = "1<=x<=1000000" if option == "--limit" else "x>=1"  # --limit is a count, which has a most too
    assert result.output.endswith(f" 0 is not in the range {allowed} (see 'cli fetch --help')\n")  # CliRunner's program name
    assert result.output.count("\n") == 1


@pytest.mark.parametrize(
    "args, code, message",
    [
        (("--summarizer", "llm"), 1, "Error: --summarizer llm needs --model NAME (see 'cli fetch --help')\n"),
        (("--model", "gpt-x"), 1, "Error: --model goes with --summarizer llm (see 'cli fetch --help')\n"),
    ],
)
def test_llm_summarizer_options(db_path, config, args, code, message):
    result = invoke(db_path, config, *args)
    assert (result.exit_code, result.output) == (code, message)


def test_llm_summarizer_without_llm_installed(db_path, config, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "llm", None)  # import llm -> ImportError
    result = invoke(db_path, config, "--summarizer", "llm", "--model", "gpt-x")
    assert result.exit_code == 1
    assert result.output.startswith("Error: the llm summarizer needs the 'llm' library")


def test_llm_summary_replaces_the_extractive_one_and_falls_back(monkeypatch):
    import sys
    import types

    from readinglist.fetching import extract_page

    class Model:
        def __init__(self, fail):
            self.fail = fail

        def prompt(self, prompt, system=None):
            if self.fail:
                raise RuntimeError("rate limited")
            return types.SimpleNamespace(text=lambda: "A model wrote this. It is short.")

    fake = types.SimpleNamespace(get_model=lambda name: Model(fail=name == "flaky"))
    monkeypatch.setitem(sys.modules, "llm", fake)
    page = html_page("Attention", "Attention lets every token look at every other token. " * 40)
    assert extract_page(page, "http://a.example/", "text/html", "utf-8", llm_model="good")["summary"] == (
        "A model wrote this. It is short."
    )
    fallback = extract_page(page, "http://a.example/", "text/html", "utf-8", llm_model="flaky")["summary"]
    assert fallback and fallback.startswith("Attention lets every token")


HOLD_THE_LOCK = """
import sys, time
from readinglist.db import one_at_a_time, open_db
with one_at_a_time(open_db(sys.argv[1]), "fetch"):
    print("held", flush=True)
    time.sleep(120)
"""


@pytest.mark.parametrize("command, quiet", [("fetch", False), ("fetch", True), ("resolve", False)])
def test_a_run_started_while_another_fetch_runs_does_nothing(db_path, config, server, command, quiet):
    """cron's next run, started while a long fetch goes on, must not request every page a second time."""
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    url = server.add("/a", Reply(200, html_page("A"), HTML))
    add_items(open_db(db_path), [url])
    root = Path(__file__).resolve().parent.parent
    other = subprocess.Popen([sys.executable, "-c", HOLD_THE_LOCK, str(db_path)], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(root)})
    try:
        assert other.stdout.readline() == "held\n"
        args = [command, "--db", str(db_path), "--config", str(config), *(["-q"] if quiet else [])]
        result = CliRunner().invoke(cli, args, env={"READINGLIST_ALLOW_PRIVATE": "1"})
        expected = "" if quiet else (
            f"Nothing done: another fetch of {db_path} is running (pid {other.pid}); it fetches what this run would have.\n")
        assert (result.exit_code, result.output) == (0, expected)
        assert server.hits["/a"] == 0
    finally:
        other.send_signal(signal.SIGKILL)  # as a crash would: the kernel lets the lock go
        other.wait()
    again = invoke(db_path, config, "--allow-private")
    assert (again.exit_code, again.output) == (0, "Fetched 1 item: 1 ok, 0 failed, 0 dead, 0 skipped.\n")
    assert server.hits["/a"] == 1
