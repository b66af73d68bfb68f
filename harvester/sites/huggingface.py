"""Hugging Face Hub: ``/api/models|datasets|spaces/{id}`` and the card (``README.md``).

The API answer has the repo's tags, ``pipeline_tag``, ``downloads``, ``likes``,
``cardData`` (the card's YAML header: license, datasets, base_model...) but not
the card's prose, so the summary comes from a second request for the raw
README at ``{base}/{prefix}{id}/raw/main/README.md`` (its first paragraph after
the YAML front matter).

``hf_id`` as ``harvester.identity`` writes it: ``owner/name`` (a model),
``datasets/owner/name``, ``spaces/owner/name``. The Hub reads ids in any letter
case, and renamed repos answer 307 to the new id (the caller follows it); the
answer's ``id`` is the repo's own spelling: ``moved_to`` names it where it
differs from the one asked for.
"""

from __future__ import annotations

import json

from harvester.identity import identify
from harvester.language import detect_language
from harvester.sites.base import FAILED, OK, SiteMetadata, add_readme, collapse, classify_status, path_segments

__all__ = ["split_id", "api_url", "card_url", "classify", "parse_api", "add_card"]

REPO_TYPES = {"datasets": "dataset", "spaces": "space"}
# Tags that say how the Hub serves a model, not what it is.
_NOISE_TAG_PREFIXES = ("region:", "endpoints_compatible", "autotrain_compatible", "license:", "arxiv:", "doi:")


def split_id(hf_id: str) -> tuple[str, str]:
    """``datasets/o/n`` -> (``datasets``, ``o/n``); ``o/n`` -> (``models``, ``o/n``)."""
    first, _, rest = hf_id.partition("/")
    if first in REPO_TYPES and rest:
        return first, rest
    return "models", hf_id


def api_url(settings, hf_id: str) -> str:
    kind, repo_id = split_id(hf_id)
    return f"{settings.huggingface_api}/api/{kind}/{path_segments(repo_id)}"


def card_url(settings, hf_id: str) -> str:
    kind, repo_id = split_id(hf_id)
    prefix = "" if kind == "models" else kind + "/"
    return f"{settings.huggingface_api}/{prefix}{path_segments(repo_id)}/raw/main/README.md"


def classify(status_code: int, headers=None) -> SiteMetadata | None:
    """None for 200. 404 (and the 401 the Hub gives unauthenticated callers for a missing repo) is dead."""
    error_code = (headers or {}).get("x-error-code", "") if headers is not None else ""
    dead = (404, 410, 401) if error_code in ("RepoNotFound", "") else (404, 410)
    return classify_status(status_code, headers, dead=dead, dead_reason="repository not found", rate_reason="rate limited")


def parse_api(body: bytes | str, hf_id: str) -> SiteMetadata:
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        return SiteMetadata(status=FAILED, error="Hugging Face: not JSON")
    if not isinstance(data, dict) or not data.get("id"):
        return SiteMetadata(status=FAILED, error="Hugging Face: no repository in the answer")
    kind, _ = split_id(hf_id)
    card = data.get("cardData") if isinstance(data.get("cardData"), dict) else {}
    tags = [t for t in data.get("tags") or [] if isinstance(t, str)]
    license_name = card.get("license")
    if isinstance(license_name, list):
        license_name = license_name[0] if license_name else None
    if not license_name:
        license_name = next((t.split(":", 1)[1] for t in tags if t.startswith("license:")), None)
    arxiv_ids = [t.split(":", 1)[1] for t in tags if t.startswith("arxiv:")]
    dois = [t.split(":", 1)[1].lower() for t in tags if t.startswith("doi:")]
    meta = {
        "hf_id": data["id"],
        "repo_type": REPO_TYPES.get(kind, "model"),
        "pipeline_tag": data.get("pipeline_tag"),
        "library": data.get("library_name"),
        "downloads": data.get("downloads"),
        "likes": data.get("likes"),
        "license": license_name,
        "tags": [t for t in tags if not t.startswith(_NOISE_TAG_PREFIXES)],
        "last_modified": data.get("lastModified"),
        "gated": data.get("gated") or None,
        "sdk": data.get("sdk"),
        "datasets": card.get("datasets") if isinstance(card.get("datasets"), list) else None,
        "base_model": card.get("base_model"),
    }
    description = collapse(data.get("description") or card.get("short_description")) or None
    title = collapse(card.get("title")) if kind == "spaces" and card.get("title") else data["id"]
    author = data.get("author") or data["id"].split("/")[0]
    canonical = _named_id(data["id"], kind)
    return SiteMetadata(
        status=OK,
        title=title,
        authors=[author] if author else [],
        published=(data.get("createdAt") or "")[:10] or None,
        summary=description,
        description=description,
        language=detect_language(description),  # add_card reads the card's, when there is one
        site_name="Hugging Face",
        meta={k: v for k, v in meta.items() if v not in (None, [], "")},
        cited_arxiv_ids=list(dict.fromkeys(arxiv_ids)),
        cited_dois=list(dict.fromkeys(dois)),
        moved_to=canonical if canonical and canonical != hf_id else None,
    )


def _named_id(repo_id, kind: str) -> str | None:
    """The ``hf_id`` of the answer's ``id`` (``owner/name``) for a repo of ``kind``; None if it names none."""
    if not isinstance(repo_id, str):
        return None
    hf_id = repo_id if kind == "models" else f"{kind}/{repo_id}"
    named = identify("https://huggingface.co/" + hf_id)
    return hf_id if named is not None and named.hf_id == hf_id else None


# A model card is a README: its first paragraph is the summary.
add_card = add_readme
