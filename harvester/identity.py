"""Links -> canonical URL, kind and identifiers: one item per work.

``identify(url)`` turns a link as written into an :class:`Identity`. Its ``url``
is the item's identity: two links to the same work (an arXiv abstract and its
versioned PDF, ``youtu.be/ID`` and ``youtube.com/watch?v=ID``, a GitHub deep
link and the repository) get the same canonical URL.

Canonical form (generic rules, then per-site rules below):

* The canonical URL is a plain-ASCII RFC 3986 URI, always ``https://``: an
  ``http`` and an ``https`` link are one item. Internationalized hosts are in
  punycode (``xn--...``) as browsers map them (UTS #46 non-transitional:
  ``straße.de`` -> ``xn--strae-oqa.de``), lowercased, without a trailing dot,
  ``www.`` or userinfo; default ports (80, 443) are dropped.
* ``m.``/``mobile.`` subdomains are dropped for sites whose mobile pages are the
  same pages (YouTube, Wikipedia, X/Twitter, Facebook, VK, Habr, Reddit, ...),
  and a few aliases are folded (``twitter.com`` -> ``x.com``, ``telegram.me`` ->
  ``t.me``, ``habrahabr.ru`` -> ``habr.com``, ``hf.co`` -> ``huggingface.co``).
* Path and query are percent-encoded UTF-8 with uppercase hex; escapes of
  unreserved characters are decoded, dot segments removed, trailing slashes
  dropped (the root stays ``/``). The fragment is dropped.
* Tracking parameters (``utm_*``, ``fbclid``, ``si``, ``ref``, ...) are dropped,
  empty ones too, and the rest sorted.

Site rules (the item, not the page, is the identity):

* arXiv abs/pdf/html/ftp/versioned links, alphaxiv.org, huggingface.co/papers/<id>
  and ``doi.org/10.48550/arXiv.<id>`` -> ``https://arxiv.org/abs/<id>``, no version;
  an old-style id loses its subject class (``math.GT/0309136`` -> ``math/0309136``).
* doi.org, dx.doi.org, publisher ``/doi/[abs|pdf|full|...]/10...`` paths, Springer
  and Nature article pages -> ``https://doi.org/<lowercased doi>``.
* OpenReview pdf -> forum, NeurIPS pdf -> abstract page, ACL Anthology pdf ->
  ``/<id>/``; other known paper sites and any ``*.pdf`` are kind paper.
* YouTube video forms -> ``https://youtube.com/watch?v=<id>``; Vimeo, Rutube.
* Habr posts -> ``https://habr.com/ru/articles/<id>/`` (trailing slash kept).
* GitHub deep links -> ``https://github.com/<owner>/<repo>`` (lowercase); a
  bare owner or a reserved page (``/features``, ``/topics``, ...) is an article.
  GitLab, Bitbucket, Codeberg projects are repos with ``repo`` None.
* Hugging Face models, ``datasets/``, ``spaces/`` -> the repository page and
  ``hf_id`` (case kept, as the Hub shows it); blog, docs, listings are articles.
* Telegram: ``t.me/<name>/<n>`` posts (name lowercased), channels, ``+invite``
  (case kept; ``joinchat/X`` -> ``+X``); share links are the shared URL.

Kinds: ``paper``, ``repo``, ``model``, ``dataset``, ``video``, ``article``
(the default), ``post`` (a Telegram post) and ``channel`` (a Telegram channel,
chat, invite or bot).

Everything is pure and cached: it runs once per link on very large inputs.
tldextract uses its bundled public-suffix snapshot and never touches the
network or the disk.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, unquote

import idna
import tldextract

__all__ = ["KINDS", "Identity", "identify", "canonical_url", "registered_domain"]

KINDS = ("paper", "repo", "model", "dataset", "video", "article", "post", "channel")


@dataclass(frozen=True)
class Identity:
    url: str  # canonical URL: the item's identity
    kind: str  # one of KINDS
    domain: str  # registered domain of the canonical URL's host, e.g. "github.com", "bbc.co.uk"
    arxiv_id: str | None = None  # "2401.12345" or "hep-th/9901001", without version
    doi: str | None = None  # lowercased, e.g. "10.1145/3290605.3300857"
    repo: str | None = None  # GitHub "owner/name", lowercased
    hf_id: str | None = None  # "owner/name" (model), "datasets/owner/name", "spaces/owner/name"


# Offline: the bundled suffix list, no download, no disk cache.
_TLD_OPTIONS = {"suffix_list_urls": (), "cache_dir": None, "include_psl_private_domains": False}
_EXTRACT = tldextract.TLDExtract(**_TLD_OPTIONS)


@lru_cache(maxsize=1 << 16)
def registered_domain(host: str) -> str:
    """The registered domain of ``host`` ("en.m.wikipedia.org" -> "wikipedia.org").

    Hosts without a public suffix (IP addresses, ``localhost``) are their own domain.
    """
    host = host.strip().lower().rstrip(".")
    if not host or host.startswith("["):
        return host
    result = _EXTRACT(host)
    domain = getattr(result, "top_domain_under_public_suffix", None)
    if domain is None:  # tldextract < 5.3
        domain = result.registered_domain
    return domain or host


# Hosts that serve only status badges (a README's "stars", "build passing" images, pasted into posts with
# their Markdown): nothing to read, never an item.
BADGE_HOSTS = frozenset({"img.shields.io", "shields.io", "badgen.net", "badge.fury.io", "forthebadge.com"})


def identify(url: str) -> Identity | None:
    """The identity of the work ``url`` links to, or None if it is not an http(s) URL with a host, or only
    a status badge (``BADGE_HOSTS``)."""
    if not isinstance(url, str):
        return None
    return _identify(url)


def canonical_url(url: str) -> str | None:
    identity = identify(url)
    return identity.url if identity is not None else None


# --------------------------------------------------------------------------- parsing

_URL_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):(//[^/?#]*)?([^?#]*)(?:\?([^#]*))?")
_PORT_RE = re.compile(r"[0-9]{0,5}")
_LABEL_RE = re.compile(r"[a-z0-9_\-]{1,63}")
_IPV6_RE = re.compile(r"\[[0-9a-f:.]+\]")
_STRIP = "".join(chr(c) for c in range(33))  # C0 controls and space
_REMOVE_INSIDE = str.maketrans("", "", "\t\r\n")

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Path and query characters kept as they are: unreserved, sub-delims, ":@/?".
_SAFE_RE = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?]*")
_FIX_RE = re.compile(r"%([0-9A-Fa-f]{2})?|[^A-Za-z0-9\-._~!$&'()*+,;=:@/?]+")
_SEGMENT_SAFE = "!$&'()*+,;=:@"


def _fix_escape(match: re.Match) -> str:
    text = match.group(0)
    if text[0] == "%":
        hexpair = match.group(1)
        if hexpair is None:
            return "%25"
        char = chr(int(hexpair, 16))
        return char if char in _UNRESERVED else "%" + hexpair.upper()
    return "".join("%%%02X" % byte for byte in text.encode("utf-8", "surrogatepass"))


def _norm(text: str) -> str:
    """Percent-encoding normalized: UTF-8, uppercase hex, unreserved characters decoded."""
    if _SAFE_RE.fullmatch(text):
        return text
    return _FIX_RE.sub(_fix_escape, text)


def _quote_segment(text: str) -> str:
    """Encode a decoded value (a DOI, an id) as one path segment or query value."""
    return _norm(quote(text, safe=_SEGMENT_SAFE + "/"))


def _remove_dot_segments(path: str) -> str:
    if "/." not in path:
        return path
    segments = path.split("/")
    if "." not in segments and ".." not in segments:
        return path
    out: list[str] = []
    for segment in segments[1:]:
        if segment == ".":
            continue
        if segment == "..":
            if out:
                out.pop()
            continue
        out.append(segment)
    return "/" + "/".join(out)


# Query parameters that only say where a click came from.
_TRACKING = frozenset(
    """fbclid gclid gclsrc dclid gbraid wbraid msclkid yclid ysclid twclid ttclid li_fat_id
    mc_cid mc_eid igshid igsh si ref ref_src ref_url spm share _hsenc _hsmi _ga _gl
    mkt_tok oly_anon_id oly_enc_id vero_id vero_conv wickedid rb_clickid __s""".split()
)
_TRACKING_BY_DOMAIN = {
    "youtube.com": frozenset({"feature", "t", "pp", "ab_channel", "embeds_referring_euri"}),
    "x.com": frozenset({"s", "t"}),
    "medium.com": frozenset({"source"}),
    "towardsdatascience.com": frozenset({"source"}),
    "linkedin.com": frozenset({"trk", "trackingid", "lipi", "rcm"}),
}

# Sites whose m./mobile. pages are the same pages.
_MOBILE_SITES = frozenset(
    """youtube.com wikipedia.org wiktionary.org wikimedia.org wikibooks.org wikiquote.org
    wikisource.org wikinews.org wikiversity.org wikivoyage.org wikidata.org mediawiki.org
    facebook.com twitter.com x.com vk.com habr.com reddit.com linkedin.com tumblr.com
    ok.ru dzen.ru""".split()
)
_HOST_ALIASES = {
    "telegram.me": "t.me",
    "telegram.dog": "t.me",
    "twitter.com": "x.com",
    "fxtwitter.com": "x.com",
    "vxtwitter.com": "x.com",
    "fixupx.com": "x.com",
    "fixvx.com": "x.com",
    "habrahabr.ru": "habr.com",
    "geektimes.ru": "habr.com",
    "geektimes.com": "habr.com",
    "hf.co": "huggingface.co",
    "dx.doi.org": "doi.org",
    "old.reddit.com": "reddit.com",
    "new.reddit.com": "reddit.com",
    "np.reddit.com": "reddit.com",
    "i.reddit.com": "reddit.com",
    "papers.nips.cc": "proceedings.neurips.cc",
    "aclweb.org": "aclanthology.org",
    "music.youtube.com": "youtube.com",
    "gaming.youtube.com": "youtube.com",
    "youtube-nocookie.com": "youtube.com",
}


def ascii_host(host: str) -> str | None:
    """An internationalized host name in punycode, as a browser goes to it; None if it cannot be one.

    UTS #46 non-transitional mapping, as the WHATWG URL standard does it:
    ``straße.de`` is ``xn--strae-oqa.de``. Python's "idna" codec (IDNA 2003)
    maps ß to ss, ``strasse.de``: another site. Labels are not held to the
    IDNA 2008 rules browsers do not apply either (``i❤.ws``, ``ex_ample``).
    """
    try:
        mapped = idna.uts46_remap(host, std3_rules=False, transitional=False)
        return ".".join(label if label.isascii() else "xn--" + label.encode("punycode").decode("ascii")
                        for label in mapped.split("."))
    except (idna.IDNAError, UnicodeError, ValueError):
        return None


@lru_cache(maxsize=1 << 16)
def _canonical_host(raw: str) -> tuple[str, str] | None:
    """(host, registered domain), or None if ``raw`` is not a usable host name."""
    host = raw.lower()
    if host.endswith("."):
        host = host[:-1]
    if not host:
        return None
    if host[0] == "[":
        if not _IPV6_RE.fullmatch(host):
            return None
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return None
        return host, host
    if not host.isascii():
        host = ascii_host(host)
        if host is None:
            return None
    if len(host) > 253:
        return None
    labels = host.split(".")
    if len(labels) < 2 or not all(_LABEL_RE.fullmatch(label) for label in labels):
        return None
    if all(label.isdigit() for label in labels):
        if len(labels) != 4 or any(int(label) > 255 for label in labels):
            return None
        host = ".".join(str(int(label)) for label in labels)
        return host, host
    if not any(c.isalpha() for c in labels[-1]):
        return None
    domain = registered_domain(host)
    while host.startswith("www.") and host != domain:
        host = host[4:]
    if domain in _MOBILE_SITES and host != domain:
        sub = [label for label in host[: -len(domain) - 1].split(".") if label not in ("m", "mobile", "www")]
        host = ".".join([*sub, domain])
    host = _HOST_ALIASES.get(host, host)
    return host, registered_domain(host)


class _Url:
    """A URL split and normalized by the generic rules, handed to the site rules."""

    __slots__ = ("host", "domain", "port", "path", "params", "_segments")

    def __init__(self, host: str, domain: str, port: str, path: str, params: list[str]):
        self.host = host
        self.domain = domain
        self.port = port
        self.path = path
        self.params = params
        self._segments: list[str] | None = None

    @property
    def segments(self) -> list[str]:
        if self._segments is None:
            self._segments = [s for s in self.path.split("/") if s]
        return self._segments

    def param(self, name: str) -> str | None:
        """The decoded value of the first query parameter ``name``."""
        prefix = name + "="
        for part in self.params:
            if part.startswith(prefix):
                return unquote(part[len(prefix) :])
            if part == name:
                return ""
        return None

    def url(self, path: str | None = None, params: list[str] | None = None, host: str | None = None) -> str:
        query = self.params if params is None else params
        return "https://%s%s%s%s" % (
            self.host if host is None else host,
            self.port,
            self.path if path is None else path,
            "?" + "&".join(query) if query else "",
        )


def _parse(url: str) -> _Url | None:
    url = url.strip(_STRIP)
    if "\t" in url or "\n" in url or "\r" in url:
        url = url.translate(_REMOVE_INSIDE)
    if "\\" in url:  # browsers read backslashes in http(s) URLs as slashes
        url = url.replace("\\", "/")
    match = _URL_RE.match(url)
    if match is None:
        return None
    scheme, authority, path, query = match.groups()
    if authority is None or scheme.lower() not in ("http", "https"):
        return None
    hostport = authority[2:].rpartition("@")[2]
    if hostport.startswith("["):
        host, bracket, port = hostport.partition("]")
        if not bracket:
            return None
        host += "]"
        if port and not port.startswith(":"):
            return None
        port = port[1:]
    else:
        host, _, port = hostport.rpartition(":") if ":" in hostport else (hostport, "", "")
    if not _PORT_RE.fullmatch(port) or (port and int(port) > 65535):
        return None
    canonical = _canonical_host(host)
    if canonical is None:
        return None
    host, domain = canonical
    port = "" if not port or int(port) in (80, 443) else ":%d" % int(port)

    if not path:
        path = "/"
    else:
        path = _remove_dot_segments(_norm(path))
        if path.endswith("/"):
            path = path.rstrip("/") or "/"
        elif not path.startswith("/"):
            path = "/" + path

    params: list[str] = []
    if query:
        site_tracking = _TRACKING_BY_DOMAIN.get(domain, ())
        for part in query.split("&"):
            if not part or part == "=":
                continue
            part = _norm(part)
            key = part.partition("=")[0].lower()
            if key in _TRACKING or key.startswith("utm_") or key in site_tracking:
                continue
            params.append(part)
        params.sort()
    return _Url(host, domain, port, path, params)


# --------------------------------------------------------------------------- papers

_NEW_ARXIV = r"\d\d(?:0[1-9]|1[0-2])\.\d{4,5}"
_OLD_ARXIV = r"[A-Za-z]+(?:-[A-Za-z]+)?(?:\.[A-Za-z]{2})?/\d{7}"
_ARXIV_ID = r"(?:arxiv:)?(?P<id>%s|%s)(?:v\d+)?" % (_NEW_ARXIV, _OLD_ARXIV)
_ARXIV_PATH_RE = re.compile(
    r"/(?:abs|pdf|html|ps|format|src|e-print|papers|overview)/%s(?:\.pdf)?(?:/.*)?" % _ARXIV_ID, re.I
)
_ARXIV_ONLY_RE = re.compile(_ARXIV_ID + r"(?:\.pdf)?", re.I)
# The FTP tree: /ftp/arxiv/papers/2401/2401.01234.pdf, old style /ftp/hep-th/papers/9901/9901001.pdf.
_ARXIV_FTP_RE = re.compile(
    r"/ftp/(?:arxiv|(?P<archive>[A-Za-z]+(?:-[A-Za-z]+)?))/papers/(?P<yymm>\d{4})/(?P<number>%s|\d{7})(?:v\d+)?(?:\.pdf)?"
    % _NEW_ARXIV,
    re.I,
)


def _arxiv_identity(raw_id: str) -> Identity:
    if "/" in raw_id:  # old style: the subject class is not part of the id
        archive, number = raw_id.split("/")
        raw_id = archive.split(".")[0].lower() + "/" + number
    return Identity(
        url="https://arxiv.org/abs/" + raw_id, kind="paper", domain="arxiv.org", arxiv_id=raw_id
    )


_DOI_RE = re.compile(r"10\.\d{4,9}/\S+")
_ARXIV_DOI_RE = re.compile(r"10\.48550/arxiv\." + _ARXIV_ID, re.I)


def _doi_identity(raw: str) -> Identity | None:
    doi = unquote(raw).strip().lower()
    if not _DOI_RE.fullmatch(doi):
        return None
    if any(segment in (".", "..") for segment in doi.split("/")):
        return None  # no registered DOI has one; "10.5555/..%2F..%2Fadmin" is a path, not a name
    arxiv = _ARXIV_DOI_RE.fullmatch(doi)
    if arxiv:
        return _arxiv_identity(arxiv.group("id"))
    return Identity(url="https://doi.org/" + _quote_segment(doi), kind="paper", domain="doi.org", doi=doi)


def _arxiv(u: _Url) -> Identity | None:
    match = _ARXIV_PATH_RE.fullmatch(u.path)
    if match:
        return _arxiv_identity(match.group("id"))
    ftp = _ARXIV_FTP_RE.fullmatch(u.path)
    if ftp is None or not ftp.group("number").startswith(ftp.group("yymm")):
        return None
    archive, number = ftp.group("archive"), ftp.group("number")
    if ("." in number) != (archive is None):
        return None  # new-style ids are under /ftp/arxiv/, old-style ones under their archive
    return _arxiv_identity(number if archive is None else f"{archive}/{number}")


def _doi_org(u: _Url) -> Identity | None:
    return _doi_identity(u.path[1:]) if u.host == "doi.org" else None


# Publisher pages named by DOI: dl.acm.org/doi/10..., onlinelibrary.wiley.com/doi/full/10...
_PUBLISHER_DOI_RE = re.compile(
    r"/doi/(?:(?:abs|pdf|full|epdf|pdfdirect|pdfplus|fullhtml|book|reader|epub|suppl|figure|ref|citedby)/)?"
    r"(10\.\d{4,9}/.+)",
    re.I,
)
_SPRINGER_RE = re.compile(
    r"/(?:(?:article|chapter|book|referenceworkentry|protocol|content/pdf)/)?(10\.\d{4,9}/.+?)(?:\.pdf)?", re.I
)
_NATURE_RE = re.compile(r"/articles/([a-z0-9][a-z0-9.\-]+?)(?:\.pdf)?", re.I)


def _springer(u: _Url) -> Identity | None:
    match = _SPRINGER_RE.fullmatch(u.path)
    return _doi_identity(match.group(1)) if match else None


def _nature(u: _Url) -> Identity | None:
    match = _NATURE_RE.fullmatch(u.path)
    return _doi_identity("10.1038/" + match.group(1)) if match else None


def _openreview(u: _Url) -> Identity | None:
    if u.path in ("/forum", "/pdf", "/attachment"):
        paper = u.param("id")
        if paper:
            return Identity(
                url="https://openreview.net/forum?id=" + _quote_segment(paper), kind="paper", domain=u.domain
            )
    return None


_NEURIPS_RE = re.compile(
    r"/paper(?:_files/paper)?/(\d{4})/(?:hash|file)/([0-9a-f]{32})-[A-Za-z]+(-[A-Za-z_]+)?\.[a-z]+"
)


def _neurips(u: _Url) -> Identity | None:
    if u.host != "proceedings.neurips.cc" or not u.path.startswith("/paper"):
        return None
    match = _NEURIPS_RE.fullmatch(u.path)
    if match:
        year, digest, track = match.groups()
        path = "/paper_files/paper/%s/hash/%s-Abstract%s.html" % (year, digest, track or "")
        return Identity(url=u.url(path, []), kind="paper", domain=u.domain)
    return Identity(url=u.url(), kind="paper", domain=u.domain)


_ACL_ID_RE = re.compile(r"(\d{4}\.[a-z0-9\-]+\.\d+|[A-Z]\d{2}-\d{4})(?:\.pdf)?")


def _acl(u: _Url) -> Identity | None:
    segments = u.segments
    if segments:
        match = _ACL_ID_RE.fullmatch(segments[-1])
        if match and (u.host == "aclanthology.org" or segments[0] == "anthology"):
            return Identity(
                url="https://aclanthology.org/%s/" % match.group(1), kind="paper", domain="aclanthology.org"
            )
    return None


def _semanticscholar(u: _Url) -> Identity | None:
    segments = u.segments
    if len(segments) >= 2 and segments[0] == "paper":
        last = segments[-1].lower()
        if re.fullmatch(r"[0-9a-f]{40}", last):
            return Identity(url="https://semanticscholar.org/paper/" + last, kind="paper", domain=u.domain)
        return Identity(url=u.url(params=[]), kind="paper", domain=u.domain)
    if len(segments) == 2 and segments[0] == "arxiv":
        match = _ARXIV_ONLY_RE.fullmatch(segments[1])
        if match:
            return _arxiv_identity(match.group("id"))
    return None


def _ieee(u: _Url) -> Identity | None:
    match = re.fullmatch(r"(?:/abstract)?/document/(\d+)(?:/.*)?", u.path)
    if u.host != "ieeexplore.ieee.org":
        return None
    if match:
        return Identity(url="https://ieeexplore.ieee.org/document/%s" % match.group(1), kind="paper", domain=u.domain)
    return None


# Sites whose pages under these path prefixes are papers ("" = every page).
_PAPER_SITES: dict[str, tuple[str, ...]] = {
    "biorxiv.org": ("/content/",),
    "medrxiv.org": ("/content/",),
    "chemrxiv.org": ("/engage/chemrxiv/article-details/",),
    "paperswithcode.com": ("/paper/",),
    "proceedings.mlr.press": ("/v",),
    "thecvf.com": ("/content",),
    "jmlr.org": ("/papers/v",),
    "aaai.org": ("/index.php/AAAI/article/",),
    "researchgate.net": ("/publication/",),
    "sciencedirect.com": ("/science/article/",),
    "ssrn.com": ("/sol3/papers.cfm", "/abstract="),
    "pubmed.ncbi.nlm.nih.gov": ("/",),
    "nih.gov": ("/pmc/articles/", "/articles/PMC"),
    "ijcai.org": ("/proceedings/",),
    "plos.org": ("/plosone/article", "/ploscompbiol/article"),
    "frontiersin.org": ("/articles/",),
}


def _paper_page(u: _Url) -> bool:
    prefixes = _PAPER_SITES.get(u.host)
    if prefixes is None:
        prefixes = _PAPER_SITES.get(u.domain)
    return prefixes is not None and u.path.startswith(prefixes) and u.path != "/"


# --------------------------------------------------------------------------- code

_GITHUB_RESERVED = frozenset(
    """features topics marketplace orgs organizations sponsors settings login logout join signup
    about pricing collections trending explore search apps site enterprise enterprises security
    customer-stories readme events notifications new dashboard codespaces copilot issues pulls
    stars watching account contact team resources solutions team nonprofit education mobile
    home blog users premium-support github-copilot sessions password_reset auth""".split()
)
_GITHUB_OWNER_RE = re.compile(r"[a-z0-9_](?:[a-z0-9_\-]{0,38})")
_REPO_NAME_RE = re.compile(r"[a-z0-9._\-]{1,100}")


def _github_repo(owner: str, name: str) -> Identity | None:
    owner, name = owner.lower(), name.lower()
    if name.endswith(".git") and len(name) > 4:
        name = name[:-4]
    if (
        owner in _GITHUB_RESERVED
        or not _GITHUB_OWNER_RE.fullmatch(owner)
        or not _REPO_NAME_RE.fullmatch(name)
        or name in (".", "..")
    ):
        return None
    return Identity(
        url="https://github.com/%s/%s" % (owner, name), kind="repo", domain="github.com", repo=owner + "/" + name
    )


def _github(u: _Url) -> Identity | None:
    segments = u.segments
    host = u.host
    if host == "github.com":
        if len(segments) >= 2:
            return _github_repo(segments[0], segments[1])
        if len(segments) == 1:
            owner = segments[0].lower()
            if owner not in _GITHUB_RESERVED and _GITHUB_OWNER_RE.fullmatch(owner):
                return Identity(url="https://github.com/" + owner, kind="article", domain=u.domain)
        return None
    if host in ("raw.github.com", "codeload.github.com") and len(segments) >= 2:
        return _github_repo(segments[0], segments[1])
    if host == "api.github.com" and len(segments) >= 3 and segments[0] == "repos":
        return _github_repo(segments[1], segments[2])
    return None


def _githubusercontent(u: _Url) -> Identity | None:
    if u.host == "raw.githubusercontent.com" and len(u.segments) >= 2:
        return _github_repo(u.segments[0], u.segments[1])
    return None


_FORGE_RESERVED = frozenset(
    "- users explore help dashboard groups search admin api projects snippets user account "
    "login signup sign_in pricing features about blog repo".split()
)
_FORGE_DEEP = frozenset(
    "blob tree raw issues merge_requests commits commit wikis wiki releases tags pipelines jobs "
    "pull-requests pulls src branches downloads compare activity".split()
)
_FORGE_SEGMENT_RE = re.compile(r"[A-Za-z0-9_.\-]+")


def _forge(u: _Url) -> Identity | None:
    """gitlab.com, bitbucket.org, codeberg.org: a project is a repo (repo field is GitHub only)."""
    segments = u.segments
    if not segments or segments[0].lower() in _FORGE_RESERVED:
        return None
    if u.domain == "gitlab.com" and u.host == "gitlab.com":
        project = segments[: segments.index("-")] if "-" in segments else segments
        for i, segment in enumerate(project[2:], 2):
            if segment in _FORGE_DEEP:
                project = project[:i]
                break
    elif u.host == u.domain:
        project = segments[:2]
    else:
        return None
    if len(project) < 2 or not all(_FORGE_SEGMENT_RE.fullmatch(s) for s in project):
        if len(segments) == 1:
            return Identity(url=u.url(params=[]), kind="article", domain=u.domain)
        return None
    project = [s.lower() for s in project]
    if project[-1].endswith(".git") and len(project[-1]) > 4:
        project[-1] = project[-1][:-4]
    return Identity(url=u.url("/" + "/".join(project), []), kind="repo", domain=u.domain)


# --------------------------------------------------------------------------- Hugging Face

_HF_RESERVED = frozenset(
    """blog docs learn papers models datasets spaces posts collections join login logout pricing
    enterprise tasks chat api settings organizations new new-dataset new-space new-collection
    inference-endpoints inference-api terms-of-service privacy search notifications welcome
    autotrain support code-of-conduct content-guidelines security""".split()
)
_HF_SUBPAGES = frozenset(
    """tree blob resolve raw discussions commits commit edit settings community viewer
    files refs compare""".split()
)
_HF_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,95}")


def _huggingface(u: _Url) -> Identity | None:
    segments = u.segments
    if u.host != "huggingface.co" or not segments:
        return None
    first = segments[0]
    if first == "papers" and len(segments) >= 2:
        match = _ARXIV_ONLY_RE.fullmatch(segments[1])
        return _arxiv_identity(match.group("id")) if match else None
    if first in ("datasets", "spaces") and len(segments) >= 2:
        rest = segments[1:]
        if len(rest) >= 2 and rest[1] not in _HF_SUBPAGES:
            name = rest[:2]
        elif first == "datasets":  # a legacy dataset without an owner: /datasets/squad
            name = rest[:1]
        else:
            return None
        if not all(_HF_NAME_RE.fullmatch(s) for s in name):
            return None
        hf_id = first + "/" + "/".join(name)
        kind = "dataset" if first == "datasets" else "repo"
        return Identity(url="https://huggingface.co/" + hf_id, kind=kind, domain=u.domain, hf_id=hf_id)
    if first in _HF_RESERVED or not _HF_NAME_RE.fullmatch(first):
        return None
    if len(segments) >= 2 and segments[1] not in _HF_SUBPAGES and _HF_NAME_RE.fullmatch(segments[1]):
        hf_id = first + "/" + segments[1]
        return Identity(url="https://huggingface.co/" + hf_id, kind="model", domain=u.domain, hf_id=hf_id)
    # A user or organization page, or a legacy owner-less model (huggingface.co/gpt2/tree/main).
    return Identity(url="https://huggingface.co/" + first, kind="article", domain=u.domain)


# --------------------------------------------------------------------------- video

_YOUTUBE_ID_RE = re.compile(r"[A-Za-z0-9_\-]{11}")


def _youtube_video(video_id: str | None) -> Identity | None:
    if video_id and _YOUTUBE_ID_RE.fullmatch(video_id):
        return Identity(url="https://youtube.com/watch?v=" + video_id, kind="video", domain="youtube.com")
    return None


def _youtube(u: _Url) -> Identity | None:
    segments = u.segments
    if u.host == "youtu.be":
        return _youtube_video(segments[0]) if segments else None
    if u.host != "youtube.com" or not segments:
        return None
    if segments[0] == "watch":
        return _youtube_video(u.param("v") or (segments[1] if len(segments) > 1 else None))
    if segments[0] == "embed" and len(segments) >= 2 and segments[1] == "videoseries":
        playlist = u.param("list")
        if playlist:
            url = "https://youtube.com/playlist?list=" + _quote_segment(playlist)
            return Identity(url=url, kind="article", domain="youtube.com")
        return None
    if segments[0] in ("shorts", "embed", "live", "v", "e") and len(segments) >= 2:
        return _youtube_video(segments[1])
    return None


def _vimeo(u: _Url) -> Identity | None:
    segments = u.segments
    video_id = secret = None
    if u.host == "player.vimeo.com":
        if len(segments) >= 2 and segments[0] == "video" and segments[1].isdigit():
            video_id, secret = segments[1], u.param("h")
    elif u.host == "vimeo.com" and segments:
        if segments[0].isdigit():
            video_id = segments[0]
            if len(segments) >= 2 and re.fullmatch(r"[0-9a-f]{6,}", segments[1]):
                secret = segments[1]
        elif segments[0] in ("channels", "groups", "showcase", "album") and segments[-1].isdigit():
            video_id = segments[-1]
    if not video_id or not video_id.isascii():
        return None
    path = "/" + video_id + ("/" + secret if secret and re.fullmatch(r"[0-9a-f]+", secret) else "")
    return Identity(url="https://vimeo.com" + path, kind="video", domain="vimeo.com")


def _rutube(u: _Url) -> Identity | None:
    match = re.fullmatch(r"/(?:video|play/embed|video/private)/([0-9a-f]{32})(?:/.*)?", u.path)
    if match:
        return Identity(url="https://rutube.ru/video/%s" % match.group(1), kind="video", domain="rutube.ru")
    return None


# --------------------------------------------------------------------------- Habr, Telegram, X, Reddit

_HABR_RE = re.compile(
    r"/(?:(?:ru|en)/)?(?:amp/)?"  # the AMP version: /ru/amp/publications/<id>/
    r"(?:(?:company|companies)/[^/]+/(?:blog|articles|news)|post|publications|articles|news(?:/t)?|p)"
    r"/(\d+)(?:/.*)?"
)


def _habr(u: _Url) -> Identity | None:
    if u.host != "habr.com":
        return None
    match = _HABR_RE.fullmatch(u.path)
    if match:
        return Identity(url="https://habr.com/ru/articles/%s/" % match.group(1), kind="article", domain="habr.com")
    return None


_TG_NAME_RE = re.compile(r"[A-Za-z0-9_]{1,64}")
_TG_RESERVED = frozenset(
    """s c joinchat addlist share iv proxy socks addstickers addemoji setlanguage login bg
    addtheme invoice boost contact""".split()
)


def _telegram(u: _Url, depth: int) -> Identity | None:
    segments = u.segments
    host = u.host
    if host != "t.me":  # name.t.me
        name = host[: -len(".t.me")] if host.endswith(".t.me") else ""
        if not name or "." in name or not _TG_NAME_RE.fullmatch(name):
            return None
        segments = [name, *segments]
    if len(segments) >= 2 and segments[0] == "s" and segments[1].lower() not in _TG_RESERVED:
        segments = segments[1:]
    if not segments:
        return Identity(url="https://t.me/", kind="channel", domain="t.me")
    first = segments[0]
    if first in ("share", "iv") and depth < 4:
        shared = u.param("url")
        if shared:
            found = _identify(shared, depth + 1)
            if found is not None:
                return found
    if first == "c" and len(segments) >= 2 and segments[1].isdigit():
        numbers = [str(int(s)) for s in segments[2:4] if s.isdigit()]
        path = "/c/" + "/".join([str(int(segments[1])), *numbers])
        return Identity(url="https://t.me" + path, kind="post" if numbers else "channel", domain="t.me")
    if first.startswith("+") and len(first) > 1:
        return Identity(url="https://t.me/" + first, kind="channel", domain="t.me")
    if first == "joinchat" and len(segments) >= 2:
        return Identity(url="https://t.me/+" + segments[1], kind="channel", domain="t.me")
    if first.lower() not in _TG_RESERVED and _TG_NAME_RE.fullmatch(first):
        name = first.lower()
        numbers = []
        for segment in segments[1:3]:
            if not segment.isdigit():
                break
            numbers.append(str(int(segment)))
        if numbers:
            return Identity(url="https://t.me/%s/%s" % (name, "/".join(numbers)), kind="post", domain="t.me")
        return Identity(url="https://t.me/" + name, kind="channel", domain="t.me")
    # addlist, addstickers, proxy, ...: Telegram's own pages, never reading material.
    return Identity(url=u.url("/" + "/".join(segments), host="t.me"), kind="channel", domain="t.me")


def _x(u: _Url) -> Identity | None:
    """A post: ``/<user>/status/<id>`` or ``/i/web/status/<id>``, as ``/i/status/<id>``.

    A post's number is X's own, whoever's name is in the URL (X shows the post
    under any name, and a renamed account's old links keep the old one), and
    ``i/web`` links name no one.
    """
    segments = u.segments
    if u.host != "x.com" or len(segments) < 3:
        return None
    if segments[:3] == ["i", "web", "status"]:
        segments = segments[2:]
    else:
        segments = segments[1:]
    if segments[0] in ("status", "statuses") and len(segments) >= 2 and segments[1].isdigit() and segments[1].isascii():
        return Identity(url="https://x.com/i/status/" + segments[1], kind="article", domain="x.com")
    return None


def _reddit(u: _Url) -> Identity | None:
    segments = u.segments
    if u.host == "reddit.com" and 4 <= len(segments) <= 5 and segments[0] == "r" and segments[2] == "comments":
        path = "/r/%s/comments/%s" % (segments[1].lower(), segments[3].lower())
        return Identity(url="https://reddit.com" + path, kind="article", domain="reddit.com")
    return None


# Redirect wrappers whose target is in a query parameter.
_REDIRECTS = {
    ("google.com", "/url"): ("q", "url"),
    ("vk.com", "/away.php"): ("to",),
    ("facebook.com", "/l.php"): ("u",),
}


def _redirect_target(u: _Url) -> str | None:
    names = _REDIRECTS.get((u.domain, u.path))
    if names:
        for name in names:
            value = u.param(name)
            if value and value.lower().startswith(("http://", "https://")):
                return value
    return None


# --------------------------------------------------------------------------- dispatch

_SITES = {
    "arxiv.org": _arxiv,
    "ar5iv.org": _arxiv,
    "alphaxiv.org": _arxiv,
    "doi.org": _doi_org,
    "springer.com": _springer,
    "nature.com": _nature,
    "openreview.net": _openreview,
    "neurips.cc": _neurips,
    "aclanthology.org": _acl,
    "semanticscholar.org": _semanticscholar,
    "ieee.org": _ieee,
    "github.com": _github,
    "githubusercontent.com": _githubusercontent,
    "gitlab.com": _forge,
    "bitbucket.org": _forge,
    "codeberg.org": _forge,
    "huggingface.co": _huggingface,
    "youtube.com": _youtube,
    "youtu.be": _youtube,
    "vimeo.com": _vimeo,
    "rutube.ru": _rutube,
    "habr.com": _habr,
    "x.com": _x,
    "reddit.com": _reddit,
}


@lru_cache(maxsize=1 << 16)
def _identify(url: str, depth: int = 0) -> Identity | None:
    u = _parse(url)
    if u is None or u.host in BADGE_HOSTS:
        return None
    domain = u.domain
    if domain == "t.me":
        return _telegram(u, depth)
    handler = _SITES.get(domain)
    if handler is not None:
        found = handler(u)
        if found is not None:
            return found
    if depth < 4 and domain in ("google.com", "vk.com", "facebook.com"):
        target = _redirect_target(u)
        if target:
            found = _identify(target, depth + 1)
            if found is not None:
                return found
    if "/doi/" in u.path or "/DOI/" in u.path:
        match = _PUBLISHER_DOI_RE.search(u.path)
        if match:
            found = _doi_identity(match.group(1))
            if found is not None:
                return found
    if u.path[-4:].lower() == ".pdf" or _paper_page(u):
        kind = "paper"
    else:
        kind = "article"
    return Identity(url=u.url(), kind=kind, domain=domain)
