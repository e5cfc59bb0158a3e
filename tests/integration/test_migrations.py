"""Migrations apply in order, once, under a lock, and seed the SSIC reference."""

from __future__ import annotations

import threading

import psycopg
import pytest

from db.migrate import discover, migrate
from db.reference import load_reference


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }


def test_migrate_empty_database_then_rerun_is_noop(bare_db: str) -> None:
    applied = migrate(bare_db, after=load_reference)
    assert [m.version for m in applied] == [m.version for m in discover()]
    assert {
        "staging_acra_companies",
        "ssic_ref",
        "ssic_index_phrases",
        "companies",
        "lead_scores",
        "background_jobs",
        "run_stage_stats",
        "tenant_settings",
        "schema_migrations",
    } <= _tables(bare_db)
    assert migrate(bare_db, after=load_reference) == []
    with psycopg.connect(bare_db) as conn:
        assert conn.execute("SELECT count(*) FROM ssic_ref").fetchone() == (1711,)
        assert conn.execute("SELECT count(*) FROM ssic_index_phrases").fetchone() == (5412,)
        # The CONCURRENTLY index was built and is valid.
        row = conn.execute(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE c.relname = 'staging_live_prior_idx'"
        ).fetchone()
        assert row == (True,)


def test_two_concurrent_migrates_apply_once(bare_db: str) -> None:
    results: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(len(migrate(bare_db, after=load_reference)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(results) == [0, len(discover())]
    with psycopg.connect(bare_db) as conn:
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone() == (
            len(discover()),
        )


def test_ssic_hierarchy_and_leading_zeros(empty_db: str) -> None:
    with psycopg.connect(empty_db) as conn:
        levels = dict(conn.execute("SELECT level, count(*) FROM ssic_ref GROUP BY 1").fetchall())
        assert levels == {
            "section": 21,
            "division": 81,
            "group": 204,
            "class": 382,
            "subclass": 1023,
        }
        row = conn.execute(
            "SELECT code, parent_code, class_code, group_code, division, section"
            " FROM ssic_ref WHERE code = '01111'"
        ).fetchone()
        assert row == ("01111", "0111", "0111", "011", "01", "A")
        assert conn.execute("SELECT parent_code FROM ssic_ref WHERE code = '01'").fetchone() == (
            "A",
        )
        manufacturing = conn.execute(
            "SELECT min(division), max(division) FROM ssic_ref WHERE section = 'C'"
            " AND level = 'subclass'"
        ).fetchone()
        # SSIC 2020 has no division 33: section C is divisions 10-32, 355 subclasses.
        assert manufacturing == ("10", "32")


def test_vocabulary_loads_once_and_reloads_when_its_data_or_builder_changes(
    bare_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from db import reference

    migrate(bare_db, after=load_reference)
    with psycopg.connect(bare_db, autocommit=True) as conn:
        sources = dict(
            conn.execute("SELECT source, count(*) FROM ssic_vocabulary GROUP BY 1").fetchall()
        )
        assert set(sources) == {"broad", "synonym", "title", "group", "index", "definition"}
        total = sum(sources.values())
        row = conn.execute(
            "SELECT rows FROM reference_data WHERE name = 'ssic_vocabulary'"
        ).fetchone()
        assert row == (total,)
        assert conn.execute("SELECT count(*) FROM ssic_vocabulary_words").fetchone()[0] > 3000
        # Every code the vocabulary names is an SSIC 2020 code.
        orphans = conn.execute(
            "SELECT count(*) FROM ssic_vocabulary v, unnest(v.codes) c"
            " WHERE NOT EXISTS (SELECT 1 FROM ssic_ref r WHERE r.code = c)"
        ).fetchone()
        assert orphans == (0,)
        assert load_reference(conn) == 0  # current: nothing reloads
        monkeypatch.setattr(reference, "VOCABULARY_VERSION", "test-next")
        assert load_reference(conn) == total  # the builder changed: the vocabulary reloads
        assert load_reference(conn) == 0


def test_a_bad_vocabulary_file_names_the_line_and_changes_nothing(bare_db: str) -> None:
    from db import reference
    from db.vocabulary import VocabularyError

    migrate(bare_db, after=load_reference)
    files = [
        reference._read(name) for name in (reference.DEFINITIONS, reference.INDEX, reference.GROUPS)
    ]
    bad = "phrase,codes,kind,why\nplumbers,43220,synonym,ok\nfintech,66195 6619X,synonym,typo\n"
    with psycopg.connect(bare_db, autocommit=True) as conn:
        before = conn.execute("SELECT count(*) FROM ssic_vocabulary").fetchone()
        with pytest.raises(VocabularyError, match=r"line 3: unknown SSIC code '6619X'"):
            reference.load_vocabulary(conn, *files, bad, "bad")
        assert conn.execute("SELECT count(*) FROM ssic_vocabulary").fetchone() == before
