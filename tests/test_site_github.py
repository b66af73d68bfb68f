"""GitHub adapter: repo fields, README summary and citations, rate limits, renames, missing repos."""

from __future__ import annotations

import json
import re

import pytest
from werkzeug import Response

from harvester.sites import github
from harvester.sites.base import readme_summary
from sites_helpers import NOW, add_item, fixture_bytes, item, run_stage, settings_for

README_SUMMARY = (
    "This repo contains the source code of the Python package loralib and several examples of how to integrate it"
    " with PyTorch models, such as those in Hugging Face. We only support PyTorch for now. See our paper for a"
    " detailed description of LoRA."
)


def test_repo_mapping():
    metadata = github.parse_repo(fixture_bytes("github_repo.json"), requested="microsoft/lora")
    assert metadata.status == "ok" and metadata.moved_to is None
    assert metadata.title == 'microsoft/LoRA: Code for loralib, an implementation of "LoRA: Low-Rank Adaptation of Large Language Models"'
    assert metadata.description.startswith("Code for loralib")
    assert metadata.authors == ["microsoft"] and metadata.site_name == "GitHub"
    assert metadata.published == "2021-06-18"
    assert metadata.tags == ["adaptation", "deep-learning", "lora"]
    assert metadata.meta == {
        "repo": "microsoft/LoRA",
        "stars": 12345,
        "forks": 800,
        "language": "Python",
        "topics": ["adaptation", "deep-learning", "lora"],
        "license": "MIT",
        "pushed_at": "2024-12-17T05:26:09Z",
        "created_at": "2021-06-18T02:16:07Z",
        "archived": False,
        "fork": False,
        "homepage": "https://arxiv.org/abs/2106.09685",
        "default_branch": "main",
    }
    assert metadata.cited_arxiv_ids == ["2106.09685"]  # from the homepage


def test_fork_mapping():
    metadata = github.parse_repo(fixture_bytes("github_fork.json"), requested="someone/lora")
    assert metadata.meta["fork"] is True and metadata.meta["parent"] == "microsoft/LoRA"
    assert metadata.meta["archived"] is True and metadata.meta["license"] == "Other"
    assert metadata.title == "someone/LoRA" and metadata.summary is None


def test_readme_summary_and_citations():
    metadata = github.parse_repo(fixture_bytes("github_repo.json"), requested="microsoft/lora")
    github.add_readme(metadata, github.parse_readme(fixture_bytes("github_readme.md"), "application/vnd.github.raw"))
    assert metadata.summary == README_SUMMARY
    assert metadata.cited_arxiv_ids == ["2106.09685", "2305.14314"]
    assert metadata.cited_dois == ["10.1000/example.lora.2022"]


RU_README = (
    "# YaFSDP\n\n[![PyPI](https://img.shields.io/pypi/v/yafsdp.svg)](https://pypi.org/project/yafsdp)\n\n"
    "YaFSDP — это фреймворк для шардирования данных при обучении больших языковых моделей. Он работает быстрее"
    " FSDP примерно на 20%.\n\n## Установка\n\n```bash\npip install yafsdp\n```\n"
)
EN_README = "# nanoGPT\n\nThe simplest, fastest repository for training medium-sized GPTs. It is a rewrite of minGPT.\n"


def _repo(full_name: str, description: str | None) -> bytes:
    return json.dumps({"full_name": full_name, "owner": {"login": full_name.split("/")[0]}, "description": description}).encode()


@pytest.mark.parametrize(
    "description, readme, language",
    [
        ("The simplest, fastest repository for training/finetuning medium-sized GPTs.", None, "en"),
        ("Фреймворк для шардирования данных при обучении больших языковых моделей", None, "ru"),
        # The README says more than a short description (here English) does.
        ("YaFSDP: Yet another Fully Sharded Data Parallel", RU_README, "ru"),
        (None, RU_README, "ru"),
        ("Фреймворк для шардирования данных при обучении моделей", EN_README, "en"),
        (None, None, None),
        ("LLM", None, None),  # too short to tell
    ],
)
def test_language_from_the_readme_or_description(description, readme, language):
    metadata = github.add_readme(github.parse_repo(_repo("yandex/YaFSDP", description)), readme)
    assert metadata.language == language


@pytest.mark.parametrize(
    "full_name, description, title",
    [
        ("yandex/YaFSDP", "YaFSDP: Yet another Fully Sharded Data Parallel", "yandex/YaFSDP: Yet another Fully Sharded Data Parallel"),
        ("yandex/YaFSDP", "yafsdp — Yet another FSDP", "yandex/YaFSDP: Yet another FSDP"),
        ("karpathy/nanoGPT", "nanoGPT is the simplest repository", "karpathy/nanoGPT: nanoGPT is the simplest repository"),
        ("karpathy/nanoGPT", "nanoGPTx: a fork", "karpathy/nanoGPT: nanoGPTx: a fork"),
        ("microsoft/LoRA", "LoRA:", "microsoft/LoRA: LoRA:"),
    ],
)
def test_title_does_not_repeat_the_repo_name(full_name, description, title):
    assert github.parse_repo(_repo(full_name, description)).title == title


def test_readme_as_base64_contents():
    text = github.parse_readme(fixture_bytes("github_readme_contents.json"), "application/json; charset=utf-8")
    assert text == fixture_bytes("github_readme.md").decode()


@pytest.mark.parametrize(
    "markdown, expected",
    [
        ("# Title\n\nShort.\n\nA real paragraph of prose that says what this is about.", "A real paragraph of prose that says what this is about."),
        ("---\nlicense: mit\n---\n\n- a list\n- of bullets\n\n| a | b |\n|---|---|\n\nFinally some words here to read.", "Finally some words here to read."),
        ("<div align=\"center\"><h1>Name</h1><p>An HTML paragraph with enough words in it.</p></div>", "An HTML paragraph with enough words in it."),
        ("Title\n=====\n\n```\ncode block with many words inside it\n```", None),
        ("", None),
    ],
)
def test_readme_summary_cases(markdown, expected):
    assert readme_summary(markdown) == expected


def test_readme_summary_is_capped():
    summary = readme_summary("word " * 400)
    assert len(summary) <= 600 and summary.endswith("…")


@pytest.mark.parametrize(
    "status, headers, body, outcome, wait",
    [
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW.timestamp()) + 900)}, b'{"message": "API rate limit exceeded"}', "deferred", 900),
        (429, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW.timestamp()) + 60)}, b"{}", "deferred", 60),
        (403, {"retry-after": "30"}, b'{"message": "You have exceeded a secondary rate limit."}', "deferred", 30),
        (403, {}, b'{"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}', "deferred", 60),
        (403, {}, b'{"message": "Resource protected by organization SAML enforcement."}', "failed", None),
        (404, {}, b'{"message": "Not Found"}', "dead", None),
        (451, {}, b'{"message": "Repository access blocked"}', "dead", None),
        (500, {}, b"", "failed", None),
    ],
)
def test_classify(status, headers, body, outcome, wait):
    result = github.classify(status, headers, body, now=NOW.timestamp())
    assert result.status == outcome
    assert result.retry_after == (pytest.approx(wait) if wait is not None else None)


def test_realworld_repos(realworld):
    folder = realworld / "github-api-json"
    bootstrap = github.parse_repo((folder / "repos_twbs_bootstrap_2025.json").read_bytes(), requested="twbs/bootstrap")
    assert bootstrap.meta["license"] == "MIT" and bootstrap.meta["stars"] > 100000 and "css" in bootstrap.tags
    fork = github.parse_repo((folder / "repos_fork_matt-davis27_PyGithub_2025.json").read_bytes(), requested="matt-davis27/pygithub")
    assert fork.meta["fork"] is True and fork.meta["parent"] == "PyGithub/PyGithub"
    renamed = github.parse_repo(
        (folder / "repositories_515436299.json").read_bytes(),
        requested="octokit-fixture-org/tmp-scenario-rename-repository-20220719044033126-ukeod",
    )
    assert renamed.moved_to == "octokit-fixture-org/tmp-scenario-rename-repository-20220719044033126-ukeod-newname"
    abuse = github.classify(403, {}, (folder / "search_403_abuse_detection.json").read_bytes())
    assert abuse.status == "deferred"
    limited = github.classify(403, {}, (folder / "users_403_rate_limit_exceeded_2013.json").read_bytes())
    assert limited.status == "deferred"
    assert github.classify(404, {}, (folder / "repos_404_not_found_2012.json").read_bytes()).status == "dead"
    assert github.classify(500, {}, (folder / "repos_500_server_error.json").read_bytes()).status == "failed"
    assert github.parse_repo((folder / "repos_moved_301.json").read_bytes()).status == "failed"  # a 301 body is no repo


# ---------------------------------------------------------------- the stage against a local server


def test_repo_item(httpserver, fresh_db):
    item_id = add_item(fresh_db, "https://github.com/microsoft/LoRA", title="GitHub - microsoft/LoRA: Code for loralib", tags='["mine"]')
    fresh_db.execute("UPDATE items SET title_source = 'preview' WHERE id = ?", [item_id])
    httpserver.expect_request("/github/repos/microsoft/lora").respond_with_data(fixture_bytes("github_repo.json"), content_type="application/json")
    httpserver.expect_request("/github/repos/microsoft/LoRA/readme", headers={"Accept": "application/vnd.github.raw"}).respond_with_data(
        fixture_bytes("github_readme.md"), content_type="application/vnd.github.raw"
    )
    stats = run_stage(fresh_db, settings_for(httpserver, github_token="ghp_secret"))
    assert stats.ok == 1
    for request, _response in httpserver.log:
        assert request.headers["Authorization"] == "Bearer ghp_secret"
        assert request.headers["User-Agent"].startswith("readinglist/")
    row = item(fresh_db, item_id)
    assert row["title"].startswith("microsoft/LoRA: Code for loralib") and row["title_source"] == "api"
    assert row["summary"] == README_SUMMARY
    assert row["tags"] == ["mine", "adaptation", "deep-learning", "lora"]
    assert row["meta"]["stars"] == 12345 and row["meta"]["site_tags"] == ["adaptation", "deep-learning", "lora"]
    assert row["meta"]["cites"] == {"arxiv": ["2106.09685", "2305.14314"], "doi": ["10.1000/example.lora.2022"]}
    assert row["fetch_status"] == "ok" and row["language"] == "en"  # the README's


def test_no_token_no_authorization(httpserver, fresh_db):
    add_item(fresh_db, "https://github.com/microsoft/LoRA")
    httpserver.expect_request("/github/repos/microsoft/lora").respond_with_data(fixture_bytes("github_repo.json"))
    httpserver.expect_request("/github/repos/microsoft/LoRA/readme").respond_with_json({"message": "Not Found"}, status=404)
    stats = run_stage(fresh_db, settings_for(httpserver))
    assert stats.ok == 1
    assert all("Authorization" not in request.headers for request, _ in httpserver.log)


def test_an_error_quoting_the_token_is_stored_without_it(httpserver, fresh_db):
    # A token with a second line (settings made by a library user, unchecked): httpx refused
    # the header with "Illegal header value b'Bearer ghp_...'", stored as last_error, which
    # Datasette shows to anonymous visitors.
    item_id = add_item(fresh_db, "https://github.com/microsoft/LoRA")
    stats = run_stage(fresh_db, settings_for(httpserver, github_token="ghp_SECRET1234\nsecond line"))
    assert stats.failed == 1
    assert item(fresh_db, item_id)["last_error"] == "network error: Illegal header value (hidden)"


def test_primary_rate_limit_defers_and_stops(httpserver, fresh_db):
    ids = [add_item(fresh_db, f"https://github.com/owner/repo{n}") for n in range(3)]
    reset = int(NOW.timestamp()) + 600
    httpserver.expect_request(re.compile("/github/repos/owner/repo.")).respond_with_json(
        {"message": "API rate limit exceeded for 127.0.0.1."},
        status=403,
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
    )
    stats = run_stage(fresh_db, settings_for(httpserver))
    assert stats.deferred == 3 and stats.failed == 0
    assert len(httpserver.log) == 1  # GitHub is not asked again in this run
    for item_id in ids:
        row = item(fresh_db, item_id)
        assert row["fetch_status"] == "pending" and row["attempts"] is None
        assert row["next_retry_at"] == "2026-03-01T12:10:00+00:00"
        assert row["last_error"].startswith("HTTP 403: API rate limit exceeded")


def test_secondary_rate_limit_with_retry_after(httpserver, fresh_db):
    item_id = add_item(fresh_db, "https://github.com/owner/repo")
    httpserver.expect_request("/github/repos/owner/repo").respond_with_json(
        {"message": "You have exceeded a secondary rate limit."}, status=403, headers={"Retry-After": "90"}
    )
    run_stage(fresh_db, settings_for(httpserver))
    assert item(fresh_db, item_id)["next_retry_at"] == "2026-03-01T12:01:30+00:00"


def test_missing_repo_is_dead(httpserver, fresh_db):
    item_id = add_item(fresh_db, "https://github.com/owner/gone")
    httpserver.expect_request("/github/repos/owner/gone").respond_with_json({"message": "Not Found"}, status=404)
    stats = run_stage(fresh_db, settings_for(httpserver))
    row = item(fresh_db, item_id)
    assert stats.dead == 1 and row["fetch_status"] == "dead" and row["http_status"] == 404


def test_renamed_repo_keeps_its_item(httpserver, fresh_db):
    item_id = add_item(fresh_db, "https://github.com/oldowner/oldname")
    location = httpserver.url_for("/github/repositories/42")
    httpserver.expect_request("/github/repos/oldowner/oldname").respond_with_response(
        Response(json.dumps({"message": "Moved Permanently", "url": location}), status=301, headers={"Location": location})
    )
    moved = json.loads(fixture_bytes("github_repo.json"))
    moved["full_name"] = "NewOwner/NewName"
    httpserver.expect_request("/github/repositories/42").respond_with_json(moved)
    httpserver.expect_request("/github/repos/NewOwner/NewName/readme").respond_with_json({"message": "Not Found"}, status=404)
    stats = run_stage(fresh_db, settings_for(httpserver))
    row = item(fresh_db, item_id)
    assert stats.ok == 1 and stats.renamed == 1
    assert row["url"] == "https://github.com/newowner/newname" and row["repo"] == "newowner/newname"
    aliases = fresh_db.execute("SELECT url, item_id FROM aliases").fetchall()
    assert aliases == [("https://github.com/oldowner/oldname", item_id)]
    from readinglist.state import resolve_item

    assert resolve_item(fresh_db, "github.com/oldowner/oldname").id == item_id


def _rename(httpserver, fresh_db):
    """Fetch the items, of which GitHub answers that oldowner/oldname is now NewOwner/NewName."""
    location = httpserver.url_for("/github/repositories/42")
    httpserver.expect_request("/github/repos/oldowner/oldname").respond_with_response(
        Response("{}", status=301, headers={"Location": location})
    )
    moved = json.loads(fixture_bytes("github_repo.json"))
    moved["full_name"] = "NewOwner/NewName"
    httpserver.expect_request("/github/repositories/42").respond_with_json(moved)
    httpserver.expect_request("/github/repos/NewOwner/NewName/readme").respond_with_json({}, status=404)
    return run_stage(fresh_db, settings_for(httpserver))


@pytest.mark.parametrize("merged", [False, True], ids=["renamed", "merged"])
def test_links_to_a_renamed_repo_go_to_its_item(httpserver, fresh_db, tmp_path, merged):
    # The item keeps the id made from its old URL: a harvest linking the new URL failed on every run
    # ("UNIQUE constraint failed: items.url", storing none of the batch) and `add` of it too.
    from readinglist.pipeline import harvest
    from readinglist.state import add_url

    item_id = add_item(fresh_db, "https://github.com/oldowner/oldname")
    if merged:
        item_id = add_item(fresh_db, "https://github.com/newowner/newname")
    stats = _rename(httpserver, fresh_db)
    assert (stats.merged, stats.renamed) == ((1, 0) if merged else (0, 1))
    # (merged: the new name's own item was fetched too, from no answer: failed)
    assert stats.summary() == ("Site metadata: 1 ok, 0 dead, 1 failed, 0 deferred, 1 merged." if merged
                               else "Site metadata: 1 ok, 0 dead, 0 failed, 0 deferred, 1 renamed.")
    dump = tmp_path / "posts.txt"
    dump.write_text(
        "Переименовали: https://github.com/NewOwner/NewName\n\nСтарая ссылка https://github.com/oldowner/oldname\n\n"
        "И ещё https://example.com/unrelated\n",
        encoding="utf-8",
    )
    result = harvest(fresh_db, [str(dump)])
    assert result.errors == [] and result.new_items == 1
    assert fresh_db.execute("SELECT COUNT(*) FROM items WHERE repo IS NOT NULL").fetchone()[0] == 1
    assert fresh_db.execute("SELECT item_id FROM mentions WHERE url LIKE 'https://github.com/%'").fetchall() == [(item_id,)] * 2
    for url in ("github.com/newowner/newname", "https://github.com/oldowner/oldname"):
        added = add_url(fresh_db, url)
        assert (added.item.id, added.created) == (item_id, False)
    assert fresh_db.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 2


@pytest.mark.parametrize(
    "repo, path",
    [
        ("microsoft/lora", "/api/repos/microsoft/lora"),
        # Ids are data (an old database): a dot segment or a "?" never leaves /repos/.
        ("owner/..", "/api/repos/owner/%2E%2E"),
        ("../../admin", "/api/repos/%2E%2E/%2E%2E/admin"),
        ("owner/x?y#z", "/api/repos/owner/x%3Fy%23z"),
    ],
)
def test_a_repo_stays_under_repos(repo, path):
    import httpx

    from harvester.settings import Settings

    settings = Settings(github_api="http://gh.local/api")
    assert httpx.Request("GET", github.repo_url(settings, repo)).url.raw_path.decode() == path
    assert httpx.Request("GET", github.readme_url(settings, repo)).url.raw_path.decode() == path + "/readme"


@pytest.mark.parametrize("full_name", ["../../internal-admin", "owner/name/../../../x", "owner/x?y", 42])
def test_an_answer_naming_no_repository_fails_and_asks_nothing_more(httpserver, fresh_db, full_name):
    # full_name names the README asked for next and a renamed repo's new identity.
    item_id = add_item(fresh_db, "https://github.com/owner/name")
    answer = json.loads(fixture_bytes("github_repo.json"))
    answer["full_name"] = full_name
    httpserver.expect_request("/github/repos/owner/name").respond_with_json(answer)
    stats = run_stage(fresh_db, settings_for(httpserver))
    row = item(fresh_db, item_id)
    assert (stats.failed, row["fetch_status"], row["repo"]) == (1, "failed", "owner/name")
    assert row["last_error"] == "GitHub: the answer names no repository"
    assert [request.path for request, _ in httpserver.log] == ["/github/repos/owner/name"]


def test_rename_onto_an_existing_item_merges(httpserver, fresh_db):
    old_id = add_item(fresh_db, "https://github.com/oldowner/oldname")
    new_id = add_item(fresh_db, "https://github.com/newowner/newname")
    fresh_db.execute("UPDATE items SET fetch_status = 'ok' WHERE id = ?", [new_id])
    stats = _rename(httpserver, fresh_db)
    assert stats.merged == 1
    assert item(fresh_db, old_id) == {}
    assert item(fresh_db, new_id)["meta"]["stars"] == 12345
    assert fresh_db.execute("SELECT item_id FROM aliases WHERE url = ?", ["https://github.com/oldowner/oldname"]).fetchone()[0] == new_id


def test_readme_rate_limit_keeps_repo_and_defers_rest(httpserver, fresh_db):
    first = add_item(fresh_db, "https://github.com/microsoft/LoRA")
    second = add_item(fresh_db, "https://github.com/owner/other")
    # Higher ranked first: LoRA is asked before the other repo.
    fresh_db.execute("UPDATE items SET rank_key = CASE id WHEN ? THEN 2 ELSE 1 END", [first])
    httpserver.expect_request("/github/repos/microsoft/lora").respond_with_data(fixture_bytes("github_repo.json"))
    httpserver.expect_request("/github/repos/microsoft/LoRA/readme").respond_with_json(
        {"message": "API rate limit exceeded"}, status=403, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "0"}
    )
    stats = run_stage(fresh_db, settings_for(httpserver))
    assert (stats.ok, stats.deferred) == (1, 1)
    assert item(fresh_db, first)["fetch_status"] == "ok"
    assert item(fresh_db, second)["fetch_status"] == "pending" and item(fresh_db, second)["next_retry_at"] is not None
