"""SSRF through the whole fetch stage: no stored link, nor any redirect, reaches a private address.

Each case is an item in the database whose URL (or whose page's redirect)
points at loopback, a private or link-local network, an IPv6-mapped
address, a decimal/hex/octal spelling of one, or a DNS name that resolves
to one. The fetch stage runs with the settings users get
(``allow_private`` off); a real server listens on 127.0.0.1 and must never
see a request, and each item ends ``skipped`` with the reason (``dead`` for
spellings the URL parser rejects outright). The guard's unit tests are in
test_fetch_netguard.py; this file checks the stage and the CLI end to end.
"""

from __future__ import annotations

import ipaddress
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from fetch_server import LocalServer, Reply, add_items, fake_extract, html_page
from harvester.netguard import resolve
from harvester.settings import Settings
from readinglist import fetching
from readinglist.db import open_db

ROOT = Path(__file__).resolve().parent.parent
DEFAULTS = Settings(per_host_delay=0.0)  # as users get it (the delay only slows the test)
# Names this test's resolver answers; any other name goes to the system resolver.
FAKE_DNS = {
    "intranet.example": ["127.0.0.1"],
    "metadata.example": ["169.254.169.254"],
    "router.example": ["192.168.1.1"],
    "mapped.example": ["::ffff:127.0.0.1"],
    "mixed.example": ["93.184.216.34", "10.0.0.5"],  # one private answer is enough to refuse
}

# (case, URL with {port} = the inside server's port, the address the refusal names; None = the URL parser rejects it)
CASES = [
    ("loopback", "http://127.0.0.1:{port}/secret", "127.0.0.1"),
    ("loopback https", "https://127.0.0.1:{port}/secret", "127.0.0.1"),
    ("loopback other", "http://127.9.9.9:{port}/secret", "127.9.9.9"),
    ("localhost (real DNS)", "http://localhost:{port}/secret", "127.0.0.1"),
    ("localhost upper case", "http://LOCALHOST:{port}/secret", "127.0.0.1"),
    ("short 127.1", "http://127.1:{port}/secret", "127.0.0.1"),
    ("decimal", "http://2130706433:{port}/secret", "127.0.0.1"),
    ("hex", "http://0x7f000001:{port}/secret", "127.0.0.1"),
    ("hex dotted", "http://0x7f.0.0.1:{port}/secret", "127.0.0.1"),
    ("octal whole", "http://017700000001:{port}/secret", "127.0.0.1"),
    ("octal dotted", "http://0177.0.0.1:{port}/secret", None),
    ("unspecified", "http://0.0.0.0:{port}/secret", "0.0.0.0"),
    ("zero", "http://0:{port}/secret", "0.0.0.0"),
    ("ipv6 loopback", "http://[::1]:{port}/secret", "::1"),
    ("ipv6-mapped loopback", "http://[::ffff:127.0.0.1]:{port}/secret", "::ffff:7f00:1"),
    ("ipv6-mapped hex", "http://[::ffff:7f00:1]:{port}/secret", "::ffff:7f00:1"),
    ("private 10/8", "http://10.0.0.1/admin", "10.0.0.1"),
    ("private 172.16/12", "http://172.16.0.1/admin", "172.16.0.1"),
    ("private 192.168/16", "http://192.168.1.1/admin", "192.168.1.1"),
    ("shared 100.64/10", "http://100.64.0.1/admin", "100.64.0.1"),
    ("ipv6 unique local", "http://[fd12:3456::1]/admin", "fd12:3456::1"),
    ("link-local metadata", "http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
    ("link-local decimal", "http://2852039166/latest/meta-data/", "169.254.169.254"),
    ("link-local octal", "http://0251.0376.0251.0376/latest/meta-data/", None),
    ("ipv6 link-local", "http://[fe80::1]/admin", "fe80::1"),
    ("ipv6-mapped link-local", "http://[::ffff:169.254.169.254]/latest/meta-data/", "::ffff:a9fe:a9fe"),
    ("name -> loopback", "http://intranet.example:{port}/secret", "127.0.0.1"),
    ("name -> metadata", "http://metadata.example/latest/meta-data/", "169.254.169.254"),
    ("name -> router", "http://router.example/admin", "192.168.1.1"),
    ("name -> ipv6-mapped", "http://mapped.example:{port}/secret", "::ffff:7f00:1"),
    ("name -> public and private", "http://mixed.example/admin", "10.0.0.5"),
]
IDS = [case for case, _, _ in CASES]


async def fake_dns(host: str, port: int):
    if host in FAKE_DNS:
        return [ipaddress.ip_address(address) for address in FAKE_DNS[host]]
    return await resolve(host, port)


@pytest.fixture(scope="module")
def inside():
    """What the guard protects: a real server on loopback, which must never be asked anything."""
    with LocalServer("127.0.0.1") as server:
        server.default = Reply(200, html_page("Internal admin page"), {"Content-Type": "text/html"})
        yield server


@pytest.fixture(scope="module")
def outside():
    """A server the test lets through (allow_hosts), standing in for a public site that redirects."""
    with LocalServer("127.0.0.2") as server:
        yield server


def fetch_items(db_path, urls, settings=DEFAULTS):
    db = open_db(db_path)
    ids = add_items(db, urls)
    with ThreadPoolExecutor(1) as executor:
        stats = fetching.run(db, settings, site_metadata=False, resolver=fake_dns, extractor=fake_extract, executor=executor)
    rows = [db.execute("SELECT fetch_status, last_error, http_status FROM items WHERE id = ?", [i]).fetchone() for i in ids]
    return stats, rows


def host_of(url: str) -> str:
    return re.match(r"https?://(\[[^\]]+\]|[^/:]+)", url).group(1).strip("[]").lower()


@pytest.mark.parametrize("case, template, address", CASES, ids=IDS)
def test_link_to_a_private_address_is_refused(case, template, address, inside, db_path):
    hits_before = sum(inside.hits.values())
    url = template.format(port=inside.port)
    stats, [(status, error, http_status)] = fetch_items(db_path, [url])
    if address is None:
        # httpx will not even parse it as a URL: dead, never connected.
        assert (status, error) == ("dead", f"invalid URL: Invalid IPv4 address: '{host_of(url)}'")
    else:
        assert (status, error) == ("skipped", f"refused: {host_of(url)} resolves to a private address ({address})")
    assert (stats.total, stats.ok, http_status) == (1, 0, None)
    assert sum(inside.hits.values()) == hits_before == 0


@pytest.mark.parametrize("case, template, address", CASES, ids=IDS)
def test_redirect_to_a_private_address_is_refused(case, template, address, inside, outside, db_path):
    # The only change from the defaults lets the first hop (127.0.0.2) through; the hop it redirects to is checked.
    settings = DEFAULTS.with_changes(allow_hosts=("127.0.0.2",))
    target = template.format(port=inside.port)
    start = outside.add(f"/go/{IDS.index(case)}", Reply(302, b"", {"Location": target}))
    stats, [(status, error, http_status)] = fetch_items(db_path, [start], settings)
    if address is None:
        # httpx rejects the Location itself; whether that counts as dead or retryable, nothing is reached.
        assert status in ("dead", "failed") and f"Invalid IPv4 address: '{host_of(target)}'" in error, (status, error)
    else:
        assert (status, error, http_status) == ("skipped", f"refused: {host_of(target)} resolves to a private address ({address})", None)
    assert (stats.total, stats.ok) == (1, 0)
    # Asked once (a retried bad Location: at most `attempts` times), and the private hop never.
    asked = outside.hits[f"/go/{IDS.index(case)}"]
    assert asked == 1 if address else 1 <= asked <= DEFAULTS.attempts
    assert sum(inside.hits.values()) == 0


def test_cli_fetch_refuses_them_all_with_no_configuration(inside, db_path, tmp_path):
    # `readinglist fetch` as installed: no config file, no READINGLIST_* variables, the system resolver.
    urls = [template.format(port=inside.port) for case, template, _ in CASES if ".example" not in template]
    add_items(open_db(db_path), urls)
    empty = tmp_path / "config.toml"
    empty.write_text("", encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if not key.startswith("READINGLIST_")}
    env.update(PYTHONPATH=str(ROOT), READINGLIST_CONFIG=str(empty))
    done = subprocess.run([sys.executable, "-m", "readinglist.cli", "fetch", "--db", str(db_path)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    dead = sum(1 for case, template, address in CASES if address is None and ".example" not in template)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"Fetched {len(urls)} items: 0 ok, 0 failed, {dead} dead, {len(urls) - dead} skipped.\n"
    db = open_db(db_path)
    assert db.execute("SELECT COUNT(*) FROM items WHERE fetch_status = 'skipped' AND last_error LIKE 'refused: %'").fetchone() == (
        len(urls) - dead,
    )
    assert sum(inside.hits.values()) == 0
