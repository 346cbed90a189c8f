"""`entitlements db upgrade` says what it did: created a new database at the newest revision,
upgraded one from its revision, or found it there already."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from click.testing import CliRunner

from adapter.cli import main
from adapter.store import alembic_config, downgrade

SCRIPTS = ScriptDirectory.from_config(alembic_config())
HEAD = SCRIPTS.get_current_head()


def upgrade(url: str) -> str:
    result = CliRunner().invoke(main, ["db", "upgrade"], env={"ENTITLEMENTS_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_a_new_database_is_created_at_the_newest_revision(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert upgrade(url) == f"database created at revision {HEAD}, the newest"
    assert upgrade(url) == f"database already at revision {HEAD}, the newest: nothing to do"


def test_an_older_database_is_upgraded_from_its_revision(database_url, engine, empty_database):
    empty_database()
    before = SCRIPTS.get_revision(HEAD).down_revision
    assert isinstance(before, str)
    try:
        downgrade(engine, before)
        answer = upgrade(database_url)
    finally:
        upgrade(database_url)  # at the newest whatever happened, for the tests after this one
    assert answer == f"database upgraded from revision {before} to {HEAD}, the newest"
