"""ACRA CSVs load fast, idempotently, and fail cleanly on malformed input."""

from __future__ import annotations

from pathlib import Path

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
