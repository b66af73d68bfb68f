"""Settings of the network stages: remote base URLs, limits and the private-address guard.

Every remote base URL is a setting so tests and mirrors can redirect it. The
values come, in order of precedence, from command-line flags, environment
variables (``READINGLIST_*``) and the TOML config file; ``readinglist/config.py``
does that merge and hands the harvester a :class:`Settings`.

Every value, whatever its source, goes through :func:`check_setting`: its
type comes from the field's annotation and its range from the field's
metadata, so a setting cannot be added without being checked.
"""

from __future__ import annotations

import math
import os
import types
import typing
from dataclasses import dataclass, field, fields, replace
from typing import Mapping
from urllib.parse import urlsplit

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
# How an environment variable says yes or no.
BOOLEAN_WORDS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def _url(default: str):
    """A base URL setting: it must be an http or https URL with a host."""
    return field(default=default, metadata={"url": True})


def _header(default: str):
    """Text sent as an HTTP header: printable ASCII only. httpx cannot encode other
    characters (a traceback), and a newline would end the header (every request refused)."""
    return field(default=default, metadata={"header": True})


def _at_least(default, least):
    """A number that must be ``least`` or more."""
    return field(default=default, metadata={"at_least": least})


def _above(default, bound):
    """A number that must be more than ``bound`` (a timeout of 0 s would fail every request)."""
    return field(default=default, metadata={"above": bound})


@dataclass(frozen=True)
class Settings:
    # Remote APIs: scheme://host[:port][/path], no trailing slash.
    arxiv_api: str = _url("https://export.arxiv.org/api/query")
    crossref_api: str = _url("https://api.crossref.org")
    datacite_api: str = _url("https://api.datacite.org")
    openalex_api: str = _url("https://api.openalex.org")
    github_api: str = _url("https://api.github.com")
    huggingface_api: str = _url("https://huggingface.co")
    youtube_oembed: str = _url("https://www.youtube.com/oembed")
    telegram_base: str = _url("https://t.me")
    zotero_api: str = _url("https://api.zotero.org")
    # Fetching.
    user_agent: str = _header(USER_AGENT)
    concurrency: int = _at_least(32, 1)
    per_host: int = _at_least(2, 1)
    per_host_delay: float = _at_least(0.5, 0)  # seconds between requests to one host
    connect_timeout: float = _above(10.0, 0)
    read_timeout: float = _above(20.0, 0)
    total_timeout: float = _above(60.0, 0)
    max_bytes: int = _at_least(10 * 1024 * 1024, 1)
    max_redirects: int = _at_least(10, 0)  # 0: follow none
    attempts: int = _at_least(4, 1)  # tries per URL for transient failures
    max_retry_after: float = _above(120.0, 0)  # cap on a server's Retry-After, seconds
    respect_robots: bool = True
    # The private-address guard: off only when the user says so.
    allow_private: bool = False
    allow_hosts: tuple[str, ...] = field(default_factory=tuple)  # host names or CIDR blocks let through
    github_token: str | None = field(default=None, metadata={"token": True})

    def with_changes(self, **changes) -> "Settings":
        """A copy with the given settings changed; ``None`` values are ignored (an unset flag)."""
        return replace(self, **{key: value for key, value in changes.items() if value is not None})


SETTING_NAMES = frozenset(f.name for f in fields(Settings))
_FIELDS = {f.name: f for f in fields(Settings)}
_TYPES = typing.get_type_hints(Settings)


class SettingError(ValueError):
    """A setting's value of the wrong type or out of range; the message names the setting and the value."""


def check_setting(name: str, value, label: str | None = None):
    """``value`` as setting ``name`` holds it, or :class:`SettingError` saying
    ``<label>: expected <what>, got <value>`` (``label``: where the value came
    from, default the setting's name). A list becomes a tuple and an integer
    a float where the setting is a number; nothing else is converted, so
    ``"false"`` is not a boolean and ``"16"`` not a number."""
    label = label or name
    if name not in _FIELDS:
        raise SettingError(f"unknown setting {name!r}")
    expected, checked = _expected(name), _converted(_TYPES[name], value)
    if checked is _WRONG or not _in_range(_FIELDS[name].metadata, checked):
        raise SettingError(f"{label}: expected {expected}, got {_shown(value)}")
    if _FIELDS[name].metadata.get("token") and checked is not None:
        return check_token(checked, label)
    return checked


def check_token(value: str, label: str) -> str:
    """``value`` without surrounding whitespace, or :class:`SettingError` if it cannot be a token or API key.

    A token goes into a request header, which takes printable ASCII only: a
    second line (from a token file) made every request fail with an error
    quoting the header, secret included, and a non-ASCII character crashed
    the request. The message never shows the value: it is a secret.
    """
    token = value.strip()
    for character in token:
        if character in "\r\n":
            reason = "it holds a line break"
        elif character.isspace():
            reason = "it holds a space"
        elif not character.isascii():
            reason = "it holds a non-ASCII character"
        elif not character.isprintable():
            reason = "it holds a control character"
        else:
            continue
        raise SettingError(f"{label}: not a valid token ({reason})")
    return token


def check_settings(values: Mapping, label=lambda name: name) -> dict:
    """:func:`check_setting` over ``values``; ``label(name)`` names where each came from."""
    return {name: check_setting(name, value, label(name)) for name, value in values.items()}


def at_least(name: str):
    """The least value setting ``name`` takes (None: unbounded), for a command-line flag's own range."""
    return _FIELDS[name].metadata.get("at_least")


_WRONG = object()
_TYPE_WORDS = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def _expected(name: str) -> str:
    metadata = _FIELDS[name].metadata
    if metadata.get("url"):
        return "an http or https URL"
    annotation = _TYPES[name]
    if typing.get_origin(annotation) is tuple:
        return "a list of strings"
    words = _TYPE_WORDS[_without_none(annotation)]
    if metadata.get("header"):
        return f"{words} of printable ASCII characters"
    if "at_least" in metadata:
        return f"{words} >= {metadata['at_least']}"
    if "above" in metadata:
        return f"{words} > {metadata['above']}"
    return words


def _without_none(annotation):
    """``str`` for ``str | None``; any other annotation as it is."""
    if isinstance(annotation, types.UnionType):
        return next(arg for arg in typing.get_args(annotation) if arg is not type(None))
    return annotation


def _converted(annotation, value):
    """``value`` as the annotated type holds it, or ``_WRONG``."""
    if value is None:
        return None if type(None) in typing.get_args(annotation) else _WRONG
    annotation = _without_none(annotation)
    if typing.get_origin(annotation) is tuple:  # tuple[str, ...]
        if isinstance(value, (list, tuple)) and all(isinstance(entry, str) for entry in value):
            return tuple(value)
        return _WRONG
    if annotation is bool:
        return value if isinstance(value, bool) else _WRONG
    if isinstance(value, bool):  # True is an int to Python, not to a user
        return _WRONG
    if annotation is float and isinstance(value, (int, float)):
        return float(value)
    return value if isinstance(value, annotation) else _WRONG


def _in_range(metadata: Mapping, value) -> bool:
    if metadata.get("url"):
        parts = urlsplit(value)
        return parts.scheme in ("http", "https") and bool(parts.netloc)
    if metadata.get("header"):
        return all(" " <= character <= "~" for character in value)
    if isinstance(value, float) and math.isnan(value):
        return False
    if "at_least" in metadata and value < metadata["at_least"]:
        return False
    if "above" in metadata and value <= metadata["above"]:
        return False
    return True


def _shown(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"  # as TOML writes it
    return repr(value)


def env_overrides(environ: Mapping[str, str] | None = None) -> dict:
    """The settings the environment sets: base URLs, ``READINGLIST_ALLOW_PRIVATE``, ``GITHUB_TOKEN``.

    An empty variable is unset. ``READINGLIST_ALLOW_PRIVATE`` takes 1/0,
    true/false, yes/no or on/off, so it can also close the guard a config file
    opened. A base URL that is not an http(s) URL, or another word for
    ``READINGLIST_ALLOW_PRIVATE``, is a :class:`SettingError` naming the variable.
    """
    environ = os.environ if environ is None else environ
    found: dict = {}
    for name, variable in BASE_URL_ENV.items():
        value = environ.get(variable, "").strip()
        if value:
            found[name] = check_setting(name, value.rstrip("/") if name != "arxiv_api" else value, variable)
    allow_private = environ.get(ALLOW_PRIVATE_ENV, "").strip()
    if allow_private:
        if allow_private.lower() not in BOOLEAN_WORDS:
            raise SettingError(f"{ALLOW_PRIVATE_ENV}: expected 1/0, true/false, yes/no or on/off, got {allow_private!r}")
        found["allow_private"] = BOOLEAN_WORDS[allow_private.lower()]
    if environ.get("GITHUB_TOKEN", "").strip():
        found["github_token"] = check_setting("github_token", environ["GITHUB_TOKEN"], "GITHUB_TOKEN")
    return found
