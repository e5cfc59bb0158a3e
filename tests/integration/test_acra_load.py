"""ACRA CSVs load fast, idempotently, and fail cleanly on malformed input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from db.acra import COLUMNS, LoadError, load_file
from icp.cli import sample_files

X_FILE = next(p for p in sample_files() if p.name.endswith("X.csv"))


def _count(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT count(*) FROM staging_acra_companies").fetchone()
    assert row is not None
    return int(row[0])


def test_load_twice_gives_same_rows(empty_db: str) -> None:
    with psycopg.connect(empty_db, autocommit=True) as conn:
        first = load_file(conn, X_FILE)
        assert (first.rows_in_file, first.inserted) == (12_505, 12_505)
        second = load_file(conn, X_FILE)
        assert (second.inserted, second.updated, second.unchanged) == (0, 0, 12_505)
        assert _count(conn) == 12_505
        total = conn.execute("SELECT sum(n) FROM staging_ssic_counts").fetchone()
        assert total == (12_505,)


def test_quirks_na_padding_dates(empty_db: str) -> None:
    with psycopg.connect(empty_db, autocommit=True) as conn:
        for f in sample_files():
            load_file(conn, f)
        assert _count(conn) == 24_385
        # 64 codes lost their leading zero in the files; all come back as 5 digits.
        assert conn.execute(
            "SELECT count(*) FROM staging_acra_companies WHERE primary_ssic_code !~ '^[0-9]{5}$'"
        ).fetchone() == (0,)
        assert (
            conn.execute(
                "SELECT count(*) FROM staging_acra_companies WHERE primary_ssic_code LIKE '0%'"
            ).fetchone()[0]
            >= 64
        )  # type: ignore[index]
        # 'na' became NULL, never the string.
        assert conn.execute(
            "SELECT count(*) FROM staging_acra_companies WHERE building_name = 'na'"
            " OR secondary_ssic_code = 'na'"
        ).fetchone() == (0,)
        years = conn.execute(
            "SELECT min(registration_incorporation_date), max(registration_incorporation_date)"
            " FROM staging_acra_companies"
        ).fetchone()
        assert years is not None and years[0].year >= 1900 and years[1].year <= 2026
        manufacturing = conn.execute(
            "SELECT count(*) FROM staging_acra_companies"
            " WHERE primary_ssic_code BETWEEN '10000' AND '33999'"
        ).fetchone()
        assert manufacturing == (1171,)


def test_newer_file_updates_rows(empty_db: str, tmp_path: Path) -> None:
    lines = X_FILE.read_text(encoding="utf-8").splitlines(keepends=True)
    newer = tmp_path / "newer.csv"
    row = lines[1].split(",")
    uen = row[0]
    row[2] = "RENAMED ENTITY PTE LTD"
    newer.write_text(lines[0] + ",".join(row), encoding="utf-8")
    with psycopg.connect(empty_db, autocommit=True) as conn:
        load_file(conn, X_FILE)
        res = load_file(conn, newer)
        assert (res.inserted, res.updated) == (0, 1)
        assert conn.execute(
            "SELECT entity_name, source_file FROM staging_acra_companies WHERE uen = %s", (uen,)
        ).fetchone() == ("RENAMED ENTITY PTE LTD", "newer.csv")
        assert _count(conn) == 12_505


def _broken(tmp_path: Path, line_no: int, column: str, value: str) -> Path:
    lines = X_FILE.read_text(encoding="utf-8").splitlines(keepends=True)[:20]
    cells = lines[line_no - 1].rstrip("\n").split(",")
    cells[COLUMNS.index(column)] = value
    lines[line_no - 1] = ",".join(cells) + "\n"
    bad = tmp_path / "bad.csv"
    bad.write_text("".join(lines), encoding="utf-8")
    return bad


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("registration_incorporation_date", "2019-02-30"),
        ("registration_incorporation_date", "12/03/2019"),
        ("primary_ssic_code", "4710X"),
        ("no_of_officers", "three"),
    ],
)
def test_bad_value_names_line_and_column_and_changes_nothing(
    empty_db: str, tmp_path: Path, column: str, value: str
) -> None:
    bad = _broken(tmp_path, 7, column, value)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        load_file(conn, X_FILE)
        before = conn.execute(
            "SELECT md5(string_agg(uen || entity_name, ',' ORDER BY uen))"
            " FROM staging_acra_companies"
        ).fetchone()
        with pytest.raises(LoadError) as info:
            load_file(conn, bad)
        assert f"bad.csv: line 7, column {column}" in str(info.value)
        assert value in str(info.value)
        after = conn.execute(
            "SELECT md5(string_agg(uen || entity_name, ',' ORDER BY uen))"
            " FROM staging_acra_companies"
        ).fetchone()
        assert before == after
        assert _count(conn) == 12_505


def test_broken_quoting_names_the_line(empty_db: str, tmp_path: Path) -> None:
    lines = X_FILE.read_text(encoding="utf-8").splitlines(keepends=True)[:12]
    lines[4] = lines[4].replace(",", ',"unclosed', 1)
    bad = tmp_path / "quote.csv"
    bad.write_text("".join(lines), encoding="utf-8")
    with psycopg.connect(empty_db, autocommit=True) as conn:
        with pytest.raises(LoadError, match=r"quote\.csv: line \d+"):
            load_file(conn, bad)
        assert _count(conn) == 0


def test_wrong_column_count_names_the_line(empty_db: str, tmp_path: Path) -> None:
    lines = X_FILE.read_text(encoding="utf-8").splitlines(keepends=True)[:12]
    lines[5] = lines[5].rstrip("\n") + ",extra\n"
    bad = tmp_path / "extra.csv"
    bad.write_text("".join(lines), encoding="utf-8")
    with psycopg.connect(empty_db, autocommit=True) as conn:
        with pytest.raises(LoadError, match=r"extra\.csv: line 6"):
            load_file(conn, bad)
        assert _count(conn) == 0


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("registration_incorporation_date", "2019-2-3"),
        ("registration_incorporation_date", "2019-02-03 "),
        ("registration_incorporation_date", "0999-01-01"),
        ("registration_incorporation_date", "infinity"),
        ("account_due_date", "20190203"),
        ("primary_ssic_code", "123456"),
        ("secondary_ssic_code", " 4710"),
        ("no_of_officers", "+3"),
        ("no_of_officers", "1_000"),
        ("uen", "na"),
        ("entity_name", "   "),
    ],
)
def test_bad_value_into_empty_staging_is_rejected_and_keeps_the_schema(
    empty_db: str, tmp_path: Path, column: str, value: str
) -> None:
    bad = _broken(tmp_path, 9, column, value)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        before = _schema(conn)
        with pytest.raises(LoadError) as info:
            load_file(conn, bad)
        assert f"bad.csv: line 9, column {column}" in str(info.value)
        assert _count(conn) == 0
        assert _schema(conn) == before


def _schema(conn: psycopg.Connection) -> list[tuple[object, ...]]:
    """Indexes, constraints and NOT NULL columns of staging, as the catalog shows them."""
    rows = conn.execute(
        "SELECT 'index', indexname, indexdef FROM pg_indexes"
        " WHERE tablename = 'staging_acra_companies'"
        " UNION ALL SELECT 'constraint', conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = 'staging_acra_companies'::regclass"
        " UNION ALL SELECT 'not null', attname, '' FROM pg_attribute"
        " WHERE attrelid = 'staging_acra_companies'::regclass AND attnum > 0 AND attnotnull"
        " ORDER BY 1, 2"
    ).fetchall()
    return [tuple(r) for r in rows]


def test_first_load_rebuilds_indexes_exactly(empty_db: str) -> None:
    with psycopg.connect(empty_db, autocommit=True) as conn:
        before = _schema(conn)
        assert any(r[1] == "staging_live_ssic_uen_idx" for r in before)
        load_file(conn, X_FILE)
        assert _schema(conn) == before
        valid = conn.execute(
            "SELECT bool_and(indisvalid AND indisready) FROM pg_index"
            " WHERE indrelid = 'staging_acra_companies'::regclass"
        ).fetchone()
        assert valid == (True,)
        # The planner has statistics after a first load.
        stats = conn.execute(
            "SELECT count(*) FROM pg_stats WHERE tablename = 'staging_acra_companies'"
            " AND attname IN ('uen', 'primary_ssic_code', 'is_live')"
        ).fetchone()
        assert stats == (3,)
        # The rebuilt indexes serve the chat's lookups.
        live = conn.execute(
            "SELECT count(*) FROM staging_acra_companies WHERE is_live"
            " AND primary_ssic_code = '46900'"
        ).fetchone()
        assert live is not None and live[0] > 0


def _with_duplicate(tmp_path: Path) -> tuple[Path, str]:
    """X_FILE's first 30 rows plus a later, renamed copy of row 3 (same UEN, lower case)."""
    lines = X_FILE.read_text(encoding="utf-8").splitlines(keepends=True)[:31]
    cells = lines[3].rstrip("\n").split(",")
    uen = cells[0]
    cells[0] = " " + uen.lower()
    cells[2] = "LAST ONE WINS PTE LTD"
    dup = tmp_path / "dup.csv"
    dup.write_text("".join(lines) + ",".join(cells) + "\n", encoding="utf-8")
    return dup, uen


def test_duplicate_uen_in_file_last_row_wins_into_empty_staging(
    empty_db: str, tmp_path: Path
) -> None:
    dup, uen = _with_duplicate(tmp_path)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        before = _schema(conn)
        res = load_file(conn, dup)
        assert (res.rows_in_file, res.inserted, res.updated) == (31, 30, 0)
        assert conn.execute(
            "SELECT entity_name FROM staging_acra_companies WHERE uen = %s", (uen,)
        ).fetchone() == ("LAST ONE WINS PTE LTD",)
        assert _count(conn) == 30
        assert _schema(conn) == before


def test_duplicate_uen_in_file_last_row_wins_into_loaded_staging(
    empty_db: str, tmp_path: Path
) -> None:
    dup, uen = _with_duplicate(tmp_path)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        load_file(conn, X_FILE)
        res = load_file(conn, dup)
        assert (res.inserted, res.updated) == (0, 1)
        assert conn.execute(
            "SELECT entity_name, source_file FROM staging_acra_companies WHERE uen = %s", (uen,)
        ).fetchone() == ("LAST ONE WINS PTE LTD", "dup.csv")
        assert _count(conn) == 12_505


def test_incremental_load_does_not_wait_for_readers(empty_db: str, tmp_path: Path) -> None:
    """A load into a populated staging takes no lock that conflicts with a reader's."""
    lines = X_FILE.read_text(encoding="utf-8").splitlines(keepends=True)
    cells = lines[1].split(",")
    cells[2] = "READER SAFE PTE LTD"
    newer = tmp_path / "newer.csv"
    newer.write_text(lines[0] + ",".join(cells), encoding="utf-8")
    with (
        psycopg.connect(empty_db, autocommit=True) as conn,
        psycopg.connect(empty_db) as reader,
    ):
        load_file(conn, X_FILE)
        reader.execute(
            "SELECT count(*) FROM staging_acra_companies WHERE primary_ssic_code = '46900'"
        )  # the reader's transaction stays open, holding its ACCESS SHARE lock
        conn.execute("SET lock_timeout = '2s'")
        res = load_file(conn, newer)
        assert (res.inserted, res.updated) == (0, 1)
        reader.rollback()


class _Recording(psycopg.Connection[Any]):
    """A connection that keeps the text of every statement it executes."""

    statements: list[str]

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        """Record the statement, then run it."""
        text = query.decode() if isinstance(query, bytes) else query
        if not isinstance(text, str):
            text = text.as_string(self)
        self.statements.append(text)
        return super().execute(query, params, **kwargs)


def test_empty_staging_is_swapped_and_a_small_merge_skips_analyze(
    empty_db: str, tmp_path: Path
) -> None:
    lines = X_FILE.read_text(encoding="utf-8").splitlines(keepends=True)
    cells = lines[1].split(",")
    cells[2] = "ONE ROW CHANGED PTE LTD"
    newer = tmp_path / "newer.csv"
    newer.write_text(lines[0] + ",".join(cells), encoding="utf-8")
    with _Recording.connect(empty_db, autocommit=True) as conn:
        conn.statements = []
        load_file(conn, X_FILE, workers=2)  # empty staging: a rebuilt, analysed table swapped in
        assert 'DROP TABLE "staging_acra_companies"' in conn.statements
        assert any(s.startswith('ANALYZE "acra_load_') for s in conn.statements)
        for f in (X_FILE, newer):  # populated: merged, nothing dropped; too few changes
            conn.statements = []
            load_file(conn, f, workers=2)
            assert not any(
                s.startswith(("DROP INDEX", "LOCK", "ANALYZE", 'DROP TABLE "staging'))
                for s in conn.statements
            )
