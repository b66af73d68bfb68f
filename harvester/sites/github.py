"""GitHub repositories: REST ``/repos/{owner}/{repo}`` and ``/repos/{owner}/{repo}/readme``.

Rate limits (https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api):
a primary limit answers 403 or 429 with ``x-ratelimit-remaining: 0`` and
``x-ratelimit-reset`` (epoch seconds); a secondary limit answers 403 or 429
with ``retry-after`` or a message about the secondary rate limit (older:
"abuse detection mechanism"). Both mean *wait*, never that the repo is bad:
``status = deferred``.

A renamed or transferred repository answers 301 to ``/repositories/{id}``;
the caller follows it and the body's ``full_name`` differs from the one asked
for: ``moved_to`` names the new ``owner/name``.
"""

from __future__ import annotations

import base64
import json
import re
import time

from harvester.identity import identify
from harvester.language import detect_language
from harvester.sites.base import (
    DEAD,
    DEFERRED,
    FAILED,
    OK,
    SiteMetadata,
    add_readme,
    collapse,
    find_identifiers,
    header,
    path_segments,
    retry_after,
    shorten,
)

__all__ = ["repo_url", "readme_url", "request_headers", "classify", "parse_repo", "parse_readme", "add_readme"]

API_VERSION = "2022-11-28"
# Secondary limits without retry-after: GitHub says wait at least a minute.
SECONDARY_WAIT = 60.0
TITLE_DESCRIPTION_CHARS = 120


def repo_url(settings, repo: str) -> str:
    return f"{settings.github_api}/repos/{path_segments(repo)}"


def readme_url(settings, repo: str) -> str:
    return f"{settings.github_api}/repos/{path_segments(repo)}/readme"


def request_headers(settings, raw: bool = False) -> dict[str, str]:
    headers = {
        "Accept": "application/vnd.github.raw" if raw else "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
    }
    if settings.github_token:
        headers["Authorization"] = f"Bearer {settings.github_token}"
    return headers


def classify(status_code: int, headers=None, body: bytes | str = b"", now: float | None = None) -> SiteMetadata | None:
    """What a non-200 answer means, or None for 200.

    ``now`` (epoch seconds) turns ``x-ratelimit-reset`` into ``retry_after``.
    """
    if status_code == 200:
        return None
    text = body.decode("utf-8", "replace") if isinstance(body, (bytes, bytearray)) else (body or "")
    message = ""
    try:
        message = str(json.loads(text).get("message", ""))
    except (ValueError, AttributeError):
        message = text[:200]
    if status_code in (403, 429):
        remaining = header(headers, "x-ratelimit-remaining")
        lowered = message.lower()
        if header(headers, "retry-after") is not None:
            wait = retry_after(headers)
            wait = SECONDARY_WAIT if wait is None else wait
            return SiteMetadata(status=DEFERRED, retry_after=wait, error=f"HTTP {status_code}: {message or 'rate limited'}", http_status=status_code)
        if remaining == "0":
            reset = header(headers, "x-ratelimit-reset")
            now = time.time() if now is None else now
            try:
                wait = max(0.0, float(reset) - now)
            except (TypeError, ValueError):
                wait = SECONDARY_WAIT
            return SiteMetadata(status=DEFERRED, retry_after=wait, error=f"HTTP {status_code}: {message or 'rate limit exceeded'}", http_status=status_code)
        if "rate limit" in lowered or "abuse detection" in lowered:
            return SiteMetadata(status=DEFERRED, retry_after=SECONDARY_WAIT, error=f"HTTP {status_code}: {message}", http_status=status_code)
        return SiteMetadata(status=FAILED, error=f"HTTP {status_code}: {message}".rstrip(": "), http_status=status_code)
    if status_code in (404, 410, 451):
        return SiteMetadata(status=DEAD, error=f"HTTP {status_code}: {message or 'Not Found'}", http_status=status_code)
    return SiteMetadata(status=FAILED, error=f"HTTP {status_code}: {message}".rstrip(": "), http_status=status_code)


def parse_repo(body: bytes | str, requested: str | None = None) -> SiteMetadata:
    """A ``/repos/{owner}/{repo}`` answer. ``requested`` is the ``owner/name`` asked for (for renames)."""
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        return SiteMetadata(status=FAILED, error="GitHub: not JSON")
    if not isinstance(data, dict) or not data.get("full_name"):
        return SiteMetadata(status=FAILED, error="GitHub: no repository in the answer")
    full_name = data["full_name"]
    # It names the README to ask for and a renamed repo's new identity: an owner/name, nothing else.
    named = identify(f"https://github.com/{full_name}") if isinstance(full_name, str) else None
    if named is None or named.repo != full_name.lower():
        return SiteMetadata(status=FAILED, error="GitHub: the answer names no repository")
    description = collapse(data.get("description")) or None
    license_info = data.get("license") or {}
    license_name = license_info.get("spdx_id")
    if not license_name or license_name == "NOASSERTION":
        license_name = license_info.get("name")
    parent = data.get("parent") or {}
    meta = {
        "repo": full_name,
        "stars": data.get("stargazers_count"),
        "forks": data.get("forks_count"),
        "language": data.get("language"),
        "topics": list(data.get("topics") or []),
        "license": license_name,
        "pushed_at": data.get("pushed_at"),
        "created_at": data.get("created_at"),
        "archived": bool(data.get("archived")),
        "fork": bool(data.get("fork")),
        "parent": parent.get("full_name"),
        "homepage": data.get("homepage") or None,
        "default_branch": data.get("default_branch"),
    }
    title = full_name
    if description:
        # "YaFSDP: Yet another ..." says the name the title already starts with.
        name = full_name.rpartition("/")[2]
        tagline = re.sub(rf"^{re.escape(name)}\s*[:\-–—|]\s*", "", description, flags=re.I) or description
        title = f"{full_name}: {shorten(tagline, TITLE_DESCRIPTION_CHARS)}"
    arxiv_ids, dois = find_identifiers(" ".join(filter(None, [description, data.get("homepage")])))
    moved_to = full_name.lower() if requested and full_name.lower() != requested.lower() else None
    owner = (data.get("owner") or {}).get("login")
    return SiteMetadata(
        status=OK,
        title=title,
        authors=[owner] if owner else [],
        published=(data.get("created_at") or "")[:10] or None,
        summary=description,
        description=description,
        language=detect_language(description),  # add_readme reads the README's, when there is one
        site_name="GitHub",
        tags=list(data.get("topics") or []),
        meta={k: v for k, v in meta.items() if v is not None and v != []},
        cited_arxiv_ids=arxiv_ids,
        cited_dois=dois,
        moved_to=moved_to,
    )


def parse_readme(body: bytes | str, content_type: str | None = None) -> str | None:
    """README text from the raw media type, or from the JSON contents object (base64)."""
    if isinstance(body, (bytes, bytearray)):
        text = body.decode("utf-8", "replace")
    else:
        text = body or ""
    if content_type and "json" in content_type or text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            return text
        if isinstance(data, dict) and data.get("encoding") == "base64" and "content" in data:
            try:
                return base64.b64decode(data["content"]).decode("utf-8", "replace")
            except ValueError:
                return None
        if isinstance(data, dict):
            return None
    return text


