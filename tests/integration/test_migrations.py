"""Migrations apply in order, once, under a lock, and seed the SSIC reference."""

from __future__ import annotations

import threading

import psycopg

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
            " WHERE c.relname = 'staging_live_ssic_uen_idx'"
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
