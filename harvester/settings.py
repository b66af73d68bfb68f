"""Settings of the network stages: remote base URLs, limits and the private-address guard.

Every remote base URL is a setting so tests and mirrors can redirect it. The
values come, in order of precedence, from command-line flags, environment
variables (``READINGLIST_*``) and the TOML config file; ``readinglist/config.py``
does that merge and hands the harvester a :class:`Settings`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from typing import Mapping

# Base URL settings and the environment variables that set them (shared by issues 3, 4 and 7).
BASE_URL_ENV = {
    "arxiv_api": "READINGLIST_ARXIV_API",
    "crossref_api": "READINGLIST_CROSSREF_API",
    "datacite_api": "READINGLIST_DATACITE_API",
    "openalex_api": "READINGLIST_OPENALEX_API",
    "github_api": "READINGLIST_GITHUB_API",
    "huggingface_api": "READINGLIST_HUGGINGFACE_API",
    "youtube_oembed": "READINGLIST_YOUTUBE_OEMBED",
    "telegram_base": "READINGLIST_TELEGRAM_BASE",
    "zotero_api": "READINGLIST_ZOTERO_API",
}
ALLOW_PRIVATE_ENV = "READINGLIST_ALLOW_PRIVATE"
USER_AGENT = "readinglist/0.1 (+https://github.com/readinglist/readinglist)"
TRUE_WORDS = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    # Remote APIs: scheme://host[:port][/path], no trailing slash.
    arxiv_api: str = "https://export.arxiv.org/api/query"
    crossref_api: str = "https://api.crossref.org"
    datacite_api: str = "https://api.datacite.org"
    openalex_api: str = "https://api.openalex.org"
    github_api: str = "https://api.github.com"
    huggingface_api: str = "https://huggingface.co"
    youtube_oembed: str = "https://www.youtube.com/oembed"
    telegram_base: str = "https://t.me"
    zotero_api: str = "https://api.zotero.org"
    # Fetching.
    user_agent: str = USER_AGENT
    concurrency: int = 32
    per_host: int = 2
    per_host_delay: float = 0.5  # seconds between requests to one host
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 10
    attempts: int = 4  # tries per URL for transient failures
    max_retry_after: float = 120.0  # cap on a server's Retry-After, seconds
    respect_robots: bool = True
    # The private-address guard: off only when the user says so.
    allow_private: bool = False
    allow_hosts: tuple[str, ...] = field(default_factory=tuple)  # host names or CIDR blocks let through
    github_token: str | None = None

    def with_changes(self, **changes) -> "Settings":
        """A copy with the given settings changed; ``None`` values are ignored (an unset flag)."""
        return replace(self, **{key: value for key, value in changes.items() if value is not None})


def env_overrides(environ: Mapping[str, str] | None = None) -> dict:
    """The settings the environment sets: base URLs, ``READINGLIST_ALLOW_PRIVATE``, ``GITHUB_TOKEN``."""
    environ = os.environ if environ is None else environ
    found: dict = {}
    for name, variable in BASE_URL_ENV.items():
        value = environ.get(variable, "").strip()
        if value:
            found[name] = value.rstrip("/") if name != "arxiv_api" else value
    if environ.get(ALLOW_PRIVATE_ENV, "").strip().lower() in TRUE_WORDS:
        found["allow_private"] = True
    if environ.get("GITHUB_TOKEN", "").strip():
        found["github_token"] = environ["GITHUB_TOKEN"].strip()
    return found


SETTING_NAMES = frozenset(f.name for f in fields(Settings))
