from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEEDS = ROOT / "seeds"
# Real captures from public projects; present beside the repo on the team's
# machines and in CI, absent from a user's clone.
REALWORLD = ROOT.parent / "shared" / "realworld"


@pytest.fixture
def realworld() -> Path:
    if not REALWORLD.is_dir():
        pytest.skip("../shared/realworld is not present")
    return REALWORLD


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def db_path(tmp_path) -> Path:
    """Where a test's database lives (not created yet)."""
    return tmp_path / "readinglist.db"


@pytest.fixture
def fresh_db(db_path):
    """An empty, migrated database at ``db_path``."""
    from readinglist.db import open_db

    return open_db(db_path)
