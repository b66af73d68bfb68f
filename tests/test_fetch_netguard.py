"""The private-address guard: what counts as private, every spelling of it, DNS answers, redirects."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import pytest

from fetch_server import LocalServer, Reply, html_page
from harvester.fetch import Fetcher, make_sync_client
from harvester.netguard import NameNotFound, Policy, RefusedURL, check_url, is_public, resolve_sync
from harvester.settings import Settings

CLOSED = Settings(per_host_delay=0.0, respect_robots=False, attempts=1)  # the guard as users get it
HTML = {"Content-Type": "text/html"}


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "127.255.0.7", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
        "0.0.0.0", "224.0.0.1", "240.0.0.1", "255.255.255.255", "192.0.2.10",
        "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "fec0::1",
        "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",  # IPv4-mapped
        "2002:7f00:1::1", "2002:c0a8:101::1",  # 6to4 of 127.0.0.1, 192.168.1.1
        "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe",  # NAT64 of 127.0.0.1, 169.254.169.254
        "::127.0.0.1",  # IPv4-compatible (deprecated)
        "2001:db8::1",  # documentation
    ],
)
def test_non_public_addresses(address):
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "2002:808:808::1"])
def test_public_addresses(address):
    assert is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("spelling", ["2130706433", "0177.0.0.1", "0x7f.0.0.1", "0x7f000001", "127.1", "017700000001"])
def test_numeric_spellings_of_loopback_resolve_to_it(spelling):
    # getaddrinfo (inet_aton rules) normalizes every legacy spelling; the guard checks what it returns.
    assert resolve_sync(spelling, 80) == [ipaddress.ip_address("127.0.0.1")]
    with pytest.raises(RefusedURL, match=r"resolves to a private address \(127\.0\.0\.1\)"):
        asyncio.run(check_url(f"http://{spelling}/", Policy()))


@pytest.mark.parametrize("url", ["ftp://example.org/x", "file:///etc/passwd", "gopher://example.org/", "javascript:alert(1)"])
def test_other_schemes_are_refused(url):
    with pytest.raises(RefusedURL, match="unsupported scheme"):
        asyncio.run(check_url(url, Policy()))


def test_any_private_address_of_a_name_refuses_it():
    async def resolver(host, port):
        return [ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("10.0.0.5")]

    with pytest.raises(RefusedURL, match=r"refused: public\.example resolves to a private address \(10\.0\.0\.5\)"):
        asyncio.run(check_url("https://public.example/", Policy(), resolver=resolver))


@pytest.mark.parametrize(
    "allow_hosts, host, address, allowed",
    [
        (("intranet.example",), "intranet.example", "10.0.0.5", True),
        (("intranet.example",), "other.example", "10.0.0.5", False),
        ((".corp.example",), "wiki.corp.example", "10.0.0.5", True),
        ((".corp.example",), "corp.example", "10.0.0.5", True),
        (("10.1.0.0/16",), "anything.example", "10.1.2.3", True),
        (("10.1.0.0/16",), "anything.example", "10.2.0.1", False),
        (("127.0.0.2",), "localhost", "127.0.0.1", False),
        (("straße.example",), "xn--strae-oqa.example", "10.0.0.5", True),  # as the connection names it
        (("straße.example",), "strasse.example", "10.0.0.5", False),
        ((".пример.рф",), "wiki.xn--e1afmkfd.xn--p1ai", "10.0.0.5", True),
    ],
)
def test_allow_hosts(allow_hosts, host, address, allowed):
    policy = Policy(allow_hosts=allow_hosts)
    if allowed:
        policy.check(host, [ipaddress.ip_address(address)])
    else:
        with pytest.raises(RefusedURL):
            policy.check(host, [ipaddress.ip_address(address)])


@pytest.mark.parametrize(
    "url, host",
    [("https://straße.example/", "xn--strae-oqa.example"), ("https://Пример.РФ/", "xn--e1afmkfd.xn--p1ai")],
)
def test_an_internationalized_host_is_checked_as_the_request_names_it(url, host):
    # getaddrinfo read straße.example by IDNA 2003, strasse.example: not the host the request goes to.
    resolved = []

    async def resolver(name, port):
        resolved.append(name)
        return [ipaddress.ip_address("10.0.0.5")]

    with pytest.raises(RefusedURL, match=f"refused: {host} resolves to a private address"):
        asyncio.run(check_url(url, Policy(), resolver=resolver))
    assert resolved == [host]


def fetch(url, settings=CLOSED, resolver=None):
    async def go():
        async with Fetcher(settings, resolver=resolver) as fetcher:
            return await fetcher.fetch(url)

    return asyncio.run(go())


@pytest.fixture
def server():
    with LocalServer() as running:
        running.add("/", Reply(200, html_page("Inside"), HTML))
        yield running


@pytest.mark.parametrize("host", ["127.0.0.1", "2130706433", "localhost", "127.1"])
def test_fetcher_refuses_loopback_spellings_without_connecting(server, host):
    result = fetch(f"http://{host}:{server.port}/")
    assert (result.status, result.error) == ("skipped", f"refused: {host} resolves to a private address (127.0.0.1)")
    assert server.hits["/"] == 0


def test_fetcher_never_connects_to_spellings_httpx_rejects(server):
    result = fetch(f"http://0177.0.0.1:{server.port}/", CLOSED.with_changes(allow_private=True))
    assert (result.status, result.error) == ("dead", "invalid URL: Invalid IPv4 address: '0177.0.0.1'")
    assert server.hits["/"] == 0


def test_fetcher_refuses_a_name_whose_dns_answer_is_private(server):
    async def resolver(host, port):
        return [ipaddress.ip_address("127.0.0.1")]

    result = fetch(f"http://news.example:{server.port}/", resolver=resolver)
    assert (result.status, result.error) == ("skipped", "refused: news.example resolves to a private address (127.0.0.1)")
    assert server.hits["/"] == 0


def test_connection_goes_to_the_checked_address_with_the_host_name_kept(server):
    # news.example exists only in this resolver: the request can only reach the server
    # if the transport connects to the address the guard checked, not a fresh lookup.
    async def resolver(host, port):
        assert host == "news.example"
        return [ipaddress.ip_address("127.0.0.1")]

    result = fetch(f"http://news.example:{server.port}/", CLOSED.with_changes(allow_hosts=("news.example",)), resolver)
    assert result.status == "ok"
    _, headers, _ = server.requests[0]
    assert headers["Host"] == f"news.example:{server.port}"


def test_allow_private_opens_the_guard(server):
    assert fetch(server.url("/"), CLOSED.with_changes(allow_private=True)).status == "ok"


def test_unknown_name_is_dead(monkeypatch):
    def no_such_name(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    result = fetch("https://no-such-host.example/paper")
    assert (result.status, result.error, result.attempts) == ("dead", "DNS: no-such-host.example: name not found", 1)


def redirect_to(link: str, how: str) -> Reply:
    """An HTTP redirect to ``link``, or a redirect stub whose meta refresh a browser follows at once."""
    if how == "http":
        return Reply(302, b"", {"Location": link})
    return Reply(200, f'<meta http-equiv="refresh" content="0; url={link}"><title>Redirecting</title>'.encode(), HTML)


@pytest.mark.parametrize("how", ["http", "meta refresh"])
@pytest.mark.parametrize("target_host", ["127.0.0.1", "localhost", "2130706433"])
def test_redirect_to_a_private_address_is_refused(target_host, how):
    # The first hop is a real server on 127.0.0.2, let through by allow_hosts; it redirects to
    # a second real server on 127.0.0.1, which the guard must never connect to.
    with LocalServer("127.0.0.2") as outside, LocalServer("127.0.0.1") as inside:
        secret = inside.add("/admin", Reply(200, b"secret", HTML))
        start = outside.add("/start", redirect_to(secret.replace("127.0.0.1", target_host), how))
        result = fetch(start, CLOSED.with_changes(allow_hosts=("127.0.0.2",)))
        assert result.status == "skipped"
        assert result.error == f"refused: {target_host} resolves to a private address (127.0.0.1)"
        assert outside.hits["/start"] == 1
        assert inside.hits["/admin"] == 0
        # Opened, the guard lets the same redirect through.
        result = fetch(start, CLOSED.with_changes(allow_private=True))
        assert (result.status, result.final_url, result.body) == ("ok", secret.replace("127.0.0.1", target_host), b"secret")


@pytest.mark.parametrize(
    "how, link, scheme",
    [
        ("http", "file:///etc/passwd", "file"),
        ("http", "ftp://example.org/x", "ftp"),
        ("meta refresh", "file:///etc/passwd", "file"),
        ("meta refresh", "ftp://example.org/x", "ftp"),
        ("meta refresh", "javascript:alert(1)", "javascript"),
        ("meta refresh", "data:text/html,hi", "data"),
    ],
)
def test_redirect_to_another_scheme_is_refused(server, how, link, scheme):
    start = server.add("/start", redirect_to(link, how))
    result = fetch(start, CLOSED.with_changes(allow_private=True))
    assert (result.status, result.error) == ("skipped", f"refused: unsupported scheme {scheme}:")


def test_sync_client_is_guarded_on_every_hop():
    with LocalServer("127.0.0.2") as outside, LocalServer("127.0.0.1") as inside:
        secret = inside.add("/admin", Reply(200, b"secret"))
        start = outside.add("/start", Reply(302, b"", {"Location": secret}))
        fine = outside.add("/fine", Reply(200, b"fine"))
        with make_sync_client(CLOSED.with_changes(allow_hosts=("127.0.0.2",))) as client:
            assert client.get(fine).text == "fine"
            with pytest.raises(RefusedURL, match=r"127\.0\.0\.1 resolves to a private address"):
                client.get(start)
        assert inside.hits["/admin"] == 0
        with make_sync_client(CLOSED) as client, pytest.raises(RefusedURL):
            client.get(fine)


def test_sync_resolver_reports_missing_names(monkeypatch):
    def no_such_name(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    with pytest.raises(NameNotFound):
        resolve_sync("no-such-host.example", 443)
    with make_sync_client(CLOSED) as client, pytest.raises(NameNotFound):
        client.get("https://no-such-host.example/")
