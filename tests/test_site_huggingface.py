"""Hugging Face adapter: model/dataset API fields, the card's first paragraph, missing repos, rate limits."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from harvester.settings import Settings
from harvester.sites import huggingface
from sites_helpers import add_item, add_post, fixture_bytes, item, run_stage, settings_for

CARD_SUMMARY = (
    "The Meta Llama 3.1 collection of multilingual large language models (LLMs) is a collection of pretrained and"
    " instruction tuned generative models in 8B, 70B and 405B sizes (text in/text out)."
)


@pytest.mark.parametrize(
    "hf_id, api, card",
    [
        ("meta-llama/Llama-3.1-8B", "/api/models/meta-llama/Llama-3.1-8B", "/meta-llama/Llama-3.1-8B/raw/main/README.md"),
        ("datasets/HuggingFaceFW/fineweb", "/api/datasets/HuggingFaceFW/fineweb", "/datasets/HuggingFaceFW/fineweb/raw/main/README.md"),
        ("spaces/owner/demo", "/api/spaces/owner/demo", "/spaces/owner/demo/raw/main/README.md"),
        # Ids are data (an old database): a dot segment or a "?" never leaves the repository's path.
        ("owner/..", "/api/models/owner/%2E%2E", "/owner/%2E%2E/raw/main/README.md"),
        ("../admin?x", "/api/models/%2E%2E/admin%3Fx", "/%2E%2E/admin%3Fx/raw/main/README.md"),
    ],
)
def test_urls(hf_id, api, card):
    settings = Settings(huggingface_api="http://hub.local")
    assert huggingface.api_url(settings, hf_id) == "http://hub.local" + api
    assert huggingface.card_url(settings, hf_id) == "http://hub.local" + card
    assert httpx.URL(huggingface.api_url(settings, hf_id)).raw_path.decode() == api


def test_model_mapping():
    metadata = huggingface.parse_api(fixture_bytes("hf_model.json"), "meta-llama/Llama-3.1-8B")
    assert metadata.title == "meta-llama/Llama-3.1-8B"
    assert metadata.authors == ["meta-llama"] and metadata.site_name == "Hugging Face"
    assert metadata.published == "2024-07-14"
    assert metadata.meta["pipeline_tag"] == "text-generation"
    assert metadata.meta["license"] == "llama3.1"
    assert (metadata.meta["downloads"], metadata.meta["likes"]) == (1234567, 1500)
    assert metadata.meta["tags"] == ["transformers", "safetensors", "llama", "text-generation", "facebook", "en", "de", "text-generation-inference"]
    assert metadata.meta["gated"] == "manual" and metadata.meta["repo_type"] == "model"
    assert metadata.cited_arxiv_ids == ["2204.05149"]
    huggingface.add_card(metadata, fixture_bytes("hf_card.md").decode())
    assert metadata.summary == CARD_SUMMARY
    assert metadata.cited_arxiv_ids == ["2204.05149", "2407.21783"]


@pytest.mark.parametrize(
    "description, card, language",
    [
        (None, None, None),
        ("A Russian instruction-tuned version of the model, trained on curated dialogues.", None, "en"),
        (None, "---\nlicense: mit\n---\n\n# ruGPT\n\nЯзыковая модель для русского языка, обученная на большом корпусе текстов.\n", "ru"),
        ("A model", "# ruGPT\n\nЯзыковая модель для русского языка, обученная на большом корпусе текстов.\n", "ru"),
    ],
)
def test_language_from_the_card_or_description(description, card, language):
    metadata = huggingface.parse_api(json.dumps({"id": "ai-forever/ruGPT", "description": description}), "ai-forever/ruGPT")
    assert huggingface.add_card(metadata, card).language == language


def test_dataset_mapping_license_from_tags():
    data = json.loads(fixture_bytes("hf_dataset.json"))
    data["cardData"].pop("license")
    metadata = huggingface.parse_api(json.dumps(data), "datasets/HuggingFaceFW/fineweb")
    assert metadata.meta["license"] == "odc-by" and metadata.meta["repo_type"] == "dataset"
    assert metadata.summary.startswith("FineWeb: decanted web text.")
    assert metadata.cited_arxiv_ids == ["2406.17557"]


@pytest.mark.parametrize(
    "status, headers, outcome",
    [(404, {}, "dead"), (401, {"x-error-code": "RepoNotFound"}, "dead"), (401, {"x-error-code": "GatedRepo"}, "failed"),
     (429, {"retry-after": "5"}, "deferred"), (500, {}, "failed")],
)
def test_classify(status, headers, outcome):
    assert huggingface.classify(status, headers).status == outcome


def test_realworld_models(realworld):
    folder = realworld / "huggingface"
    bert = huggingface.parse_api((folder / "api_models_google-bert_bert-base-uncased.json").read_bytes(), "google-bert/bert-base-uncased")
    assert (bert.meta["pipeline_tag"], bert.meta["license"]) == ("fill-mask", "apache-2.0")
    assert bert.cited_arxiv_ids == ["1810.04805"] and bert.meta["downloads"] > 0
    sd = huggingface.parse_api((folder / "api_models_stabilityai_stable-diffusion-2-1.json").read_bytes(), "stabilityai/stable-diffusion-2-1")
    assert sd.meta["license"] == "openrail++" and sd.meta["library"] == "diffusers"
    assert sd.cited_arxiv_ids == ["2112.10752", "2202.00512", "1910.09700"]


# ---------------------------------------------------------------- the stage against a local server


def test_model_item(httpserver, fresh_db):
    item_id = add_item(fresh_db, "https://huggingface.co/meta-llama/Llama-3.1-8B")
    httpserver.expect_request("/hf/api/models/meta-llama/Llama-3.1-8B").respond_with_data(fixture_bytes("hf_model.json"), content_type="application/json")
    httpserver.expect_request("/hf/meta-llama/Llama-3.1-8B/raw/main/README.md").respond_with_data(fixture_bytes("hf_card.md"))
    stats = run_stage(fresh_db, settings_for(httpserver))
    row = item(fresh_db, item_id)
    assert stats.ok == 1 and len(httpserver.log) == 2
    assert row["summary"] == CARD_SUMMARY and row["title"] == "meta-llama/Llama-3.1-8B"
    assert row["meta"]["pipeline_tag"] == "text-generation" and row["meta"]["cites"] == {"arxiv": ["2204.05149", "2407.21783"]}
    assert row["tags"] == []  # Hub tags are technical: they stay in meta


def test_gated_card_keeps_api_fields(httpserver, fresh_db):
    item_id = add_item(fresh_db, "https://huggingface.co/datasets/HuggingFaceFW/fineweb")
    httpserver.expect_request("/hf/api/datasets/HuggingFaceFW/fineweb").respond_with_data(fixture_bytes("hf_dataset.json"))
    httpserver.expect_request("/hf/datasets/HuggingFaceFW/fineweb/raw/main/README.md").respond_with_data("gated", status=401)
    run_stage(fresh_db, settings_for(httpserver))
    row = item(fresh_db, item_id)
    assert row["fetch_status"] == "ok" and row["summary"].startswith("FineWeb: decanted web text.")


def test_missing_repo_is_dead(httpserver, fresh_db):
    item_id = add_item(fresh_db, "https://huggingface.co/nobody/nothing")
    httpserver.expect_request("/hf/api/models/nobody/nothing").respond_with_json(
        {"error": "Repository not found"}, status=401, headers={"X-Error-Code": "RepoNotFound"}
    )
    stats = run_stage(fresh_db, settings_for(httpserver))
    assert stats.dead == 1 and item(fresh_db, item_id)["fetch_status"] == "dead"


def test_rate_limit_defers(httpserver, fresh_db):
    item_id = add_item(fresh_db, "https://huggingface.co/a/b")
    httpserver.expect_request("/hf/api/models/a/b").respond_with_data("Too Many Requests", status=429, headers={"Retry-After": "300"})
    stats = run_stage(fresh_db, settings_for(httpserver))
    row = item(fresh_db, item_id)
    assert stats.deferred == 1 and row["fetch_status"] == "pending" and row["next_retry_at"] == "2026-03-01T12:05:00+00:00"


def test_renamed_model_redirect_is_followed(httpserver, fresh_db):
    item_id = add_item(fresh_db, "https://huggingface.co/old/name")
    httpserver.expect_request("/hf/api/models/old/name").respond_with_data(
        "Temporary Redirect. Redirecting to /hf/api/models/meta-llama/Llama-3.1-8B", status=307,
        headers={"Location": "/hf/api/models/meta-llama/Llama-3.1-8B"},
    )
    httpserver.expect_request("/hf/api/models/meta-llama/Llama-3.1-8B").respond_with_data(fixture_bytes("hf_model.json"))
    httpserver.expect_request("/hf/old/name/raw/main/README.md").respond_with_data("", status=404)
    run_stage(fresh_db, settings_for(httpserver))
    row = item(fresh_db, item_id)
    assert row["meta"]["hf_id"] == row["hf_id"] == "meta-llama/Llama-3.1-8B"
    assert row["url"] == "https://huggingface.co/meta-llama/Llama-3.1-8B"
    assert fresh_db.execute("SELECT url, item_id FROM aliases").fetchall() == [("https://huggingface.co/old/name", item_id)]


@pytest.mark.parametrize(
    "requested, answered, moved_to",
    [
        ("meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.1-8B", None),
        ("meta-llama/llama-3.1-8b", "meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.1-8B"),
        ("datasets/huggingfacefw/fineweb", "HuggingFaceFW/fineweb", "datasets/HuggingFaceFW/fineweb"),
        ("datasets/squad", "rajpurkar/squad", "datasets/rajpurkar/squad"),
        ("spaces/owner/Demo", "owner/demo", "spaces/owner/demo"),
        # An id that names no repository of that kind moves nothing.
        ("a/b", "../../admin", None),
        ("a/b", "a/b?x=1", None),
        ("a/b", "datasets", None),
    ],
)
def test_the_answers_own_spelling_of_the_id_is_where_the_item_moves(requested, answered, moved_to):
    answer = dict(json.loads(fixture_bytes("hf_model.json")), id=answered)
    assert huggingface.parse_api(json.dumps(answer), requested).moved_to == moved_to


@pytest.mark.parametrize(
    "spellings, merged, renamed",
    [
        (["meta-llama/Llama-3.1-8B", "meta-llama/llama-3.1-8b"], 1, 0),
        (["meta-llama/llama-3.1-8b", "meta-llama/Llama-3.1-8B"], 1, 0),
        (["META-LLAMA/llama-3.1-8B", "meta-llama/llama-3.1-8b"], 1, 1),
        (["meta-llama/llama-3.1-8b"], 0, 1),
    ],
)
def test_one_model_in_any_letter_case_is_one_item_once_fetched(httpserver, fresh_db, spellings, merged, renamed):
    """The Hub reads ids in any case and answers with the repo's own spelling: the items of the others join that one."""
    urls = ["https://huggingface.co/" + spelling for spelling in spellings]
    for url in urls:
        add_post(fresh_db, [add_item(fresh_db, url)])
    httpserver.expect_request(re.compile("(?i)/hf/api/models/meta-llama/llama-3.1-8b")).respond_with_data(
        fixture_bytes("hf_model.json"), content_type="application/json"
    )
    httpserver.expect_request(re.compile("(?i)/hf/meta-llama/llama-3.1-8b/raw/main/README.md")).respond_with_data(
        fixture_bytes("hf_card.md")
    )
    stats = run_stage(fresh_db, settings_for(httpserver))
    rows = fresh_db.execute("SELECT id, url, hf_id, mention_posts, fetch_status FROM items").fetchall()
    assert [row[1:] for row in rows] == [
        ("https://huggingface.co/meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.1-8B", len(urls), "ok")
    ]
    assert fresh_db.execute("SELECT count(*) FROM mentions WHERE item_id = ?", [rows[0][0]]).fetchone() == (len(urls),)
    aliases = fresh_db.execute("SELECT url FROM aliases ORDER BY url").fetchall()
    assert aliases == sorted((url,) for url in urls if url != rows[0][1])
    assert (stats.merged, stats.renamed) == (merged, renamed)
