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
        pairs = conn.execute("SELECT sum(n) FROM staging_ssic_pair_counts").fetchone()
        secondary = conn.execute(
            "SELECT count(*) FROM staging_acra_companies WHERE secondary_ssic_code IS NOT NULL"
        ).fetchone()
        assert pairs == secondary and secondary and secondary[0] > 0


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
    """Staging as the catalog shows it: indexes (and comments), constraints, NOT NULL and
    generated columns, statistics targets and options, extended statistics, the table's
    options, privileges and comment."""
    rows = conn.execute(
        "SELECT 'index', indexname, indexdef, obj_description(indexname::regclass, 'pg_class')"
        " FROM pg_indexes WHERE tablename = 'staging_acra_companies'"
        " UNION ALL SELECT 'constraint', conname, pg_get_constraintdef(oid), '' FROM pg_constraint"
        " WHERE conrelid = 'staging_acra_companies'::regclass"
        " UNION ALL SELECT 'column', attname, attnotnull || ' ' || attgenerated::text,"
        " coalesce(attstattarget::text, '') || ' ' || coalesce((SELECT string_agg(o, ',')"
        "   FROM unnest(attoptions) o"
        "   WHERE o LIKE 'n\\_distinct%'), '') FROM pg_attribute"
        " WHERE attrelid = 'staging_acra_companies'::regclass AND attnum > 0 AND NOT attisdropped"
        " UNION ALL SELECT 'statistics', stxname, pg_get_statisticsobjdef(oid), ''"
        " FROM pg_statistic_ext WHERE stxrelid = 'staging_acra_companies'::regclass"
        " UNION ALL SELECT 'table', reloptions::text, relacl::text,"
        " obj_description(oid, 'pg_class') FROM pg_class"
        " WHERE oid = 'staging_acra_companies'::regclass"
        " ORDER BY 1, 2"
    ).fetchall()
    return [tuple(r) for r in rows]


def test_first_load_rebuilds_indexes_exactly(empty_db: str) -> None:
    with psycopg.connect(empty_db, autocommit=True) as conn:
        before = _schema(conn)
        assert any(r[1] == "staging_live_ssic_prior_idx" for r in before)
        load_file(conn, X_FILE, workers=2)
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
    cells[0] = uen.lower()
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
        analysed = conn.execute(
            "SELECT count(*) > 0 FROM pg_stats WHERE tablename = 'staging_acra_companies'"
        ).fetchone()
        assert analysed == (True,)
        for f in (X_FILE, newer):  # populated: merged, nothing dropped; too few changes
            conn.statements = []
            load_file(conn, f, workers=2)
            assert not any(
                s.startswith(("DROP INDEX", "LOCK", "ANALYZE", 'DROP TABLE "staging'))
                for s in conn.statements
            )


def _state(conn: psycopg.Connection) -> tuple[object, ...]:
    """Staging's rows (all columns), the per-code counts and the schema."""
    rows = conn.execute(
        "SELECT md5(string_agg(s::text, '|' ORDER BY uen)) FROM staging_acra_companies s"
    ).fetchone()
    counts = conn.execute(
        "SELECT md5(string_agg(c::text, '|' ORDER BY code)) FROM staging_ssic_counts c"
    ).fetchone()
    leftovers = conn.execute(
        "SELECT count(*) FROM pg_class WHERE relname LIKE 'acra\\_load\\_%'"
    ).fetchone()
    assert leftovers == (0,)  # no load table survives a load, failed or not
    return rows, counts, _schema(conn)


def _with_cell(tmp_path: Path, line_no: int, column: str, value: str) -> Path:
    """X_FILE whole, with one cell of physical line ``line_no`` replaced (csv-aware)."""
    import csv

    with X_FILE.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert "\n" not in "".join(rows[line_no - 1])  # records and lines coincide up to here
    rows[line_no - 1][COLUMNS.index(column)] = value
    bad = tmp_path / "bad.csv"
    with bad.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return bad


def _stream_of_line(path: Path, line_no: int, workers: int) -> int:
    """Return the COPY stream that sends physical line ``line_no`` (chunk i -> i % workers)."""
    from db.acra_copy import chunks

    seen = 1  # the header line
    for i, chunk in enumerate(chunks(path)):
        seen += chunk.count(b"\n")
        if seen >= line_no:
            return i % workers
    raise AssertionError(f"line {line_no} not in {path}")


@pytest.mark.parametrize("populated", [False, True])
@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("registration_incorporation_date", "2019-2-3"),  # refused by the chunk check
        ("registration_incorporation_date", "2019-02-30"),  # refused by the typed COPY
        ("no_of_officers", "+3"),  # PostgreSQL would take it
        ("primary_ssic_code", "123456"),  # too long to pad
        ("uen", "  "),  # blank
        ("uen", "T08LL0001A "),  # untrimmed: an error, never trimmed
        ("uen", " T08LL0001A"),
        ("entity_name", "   "),
    ],
)
@pytest.mark.parametrize(("line_no", "stream"), [(7, 0), (12_000, 1)])
def test_parallel_load_bad_row_in_either_stream_changes_nothing(
    empty_db: str,
    tmp_path: Path,
    populated: bool,
    column: str,
    value: str,
    line_no: int,
    stream: int,
) -> None:
    bad = _with_cell(tmp_path, line_no, column, value)
    assert _stream_of_line(bad, line_no, 2) == stream
    q_file = next(p for p in sample_files() if p.name.endswith("Q.csv"))
    with psycopg.connect(empty_db, autocommit=True) as conn:
        if populated:
            load_file(conn, q_file, workers=2)
        before = _state(conn)
        with pytest.raises(LoadError) as info:
            load_file(conn, bad, workers=2)
        assert f"bad.csv: line {line_no}, column {column}: " in str(info.value)
        assert value in str(info.value)
        assert _state(conn) == before


def _fingerprint(conn: psycopg.Connection) -> tuple[object, ...]:
    """Staging's rows (every column but the load time) and both count tables."""
    return tuple(
        conn.execute(query).fetchone()
        for query in (
            "SELECT md5(string_agg(s::text, '|' ORDER BY uen)) FROM (SELECT uen, "
            + ", ".join(COLUMNS[1:])
            + ", is_live, registry_prior, source_file FROM staging_acra_companies) s",
            "SELECT md5(string_agg(c::text, '|' ORDER BY code)) FROM staging_ssic_counts c",
            "SELECT md5(string_agg(c::text, '|' ORDER BY secondary_code, primary_code))"
            " FROM staging_ssic_pair_counts c",
        )
    )


def _with_short_codes(tmp_path: Path) -> tuple[Path, list[str]]:
    """X_FILE with short SSIC codes (leading zeros dropped) near its start and end, so in
    both COPY streams, and an empty field beside one of them."""
    import csv

    with X_FILE.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    p, s = COLUMNS.index("primary_ssic_code"), COLUMNS.index("secondary_ssic_code")
    for line_no, code, secondary in ((5, "1111", "0"), (12_000, "130", "4690")):
        rows[line_no - 1][p], rows[line_no - 1][s] = code, secondary
    rows[12_000 - 1][COLUMNS.index("building_name")] = ""
    path = tmp_path / "short.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    assert _stream_of_line(path, 12_000, 2) == 1
    return path, [rows[4][0], rows[12_000 - 1][0]]


@pytest.mark.parametrize("populated", [False, True])
def test_one_or_two_load_workers_give_identical_staging_and_counts(
    empty_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, populated: bool
) -> None:
    from config.settings import get_settings

    short, uens = _with_short_codes(tmp_path)
    q_file = next(p for p in sample_files() if p.name.endswith("Q.csv"))
    results = []
    for workers in ("1", "2"):
        monkeypatch.setenv("ICP_LOAD_WORKERS", workers)
        get_settings.cache_clear()
        assert get_settings().load_workers == int(workers)
        with _Recording.connect(empty_db, autocommit=True) as conn:
            conn.statements = []
            conn.execute(
                "TRUNCATE staging_acra_companies, staging_ssic_counts, staging_ssic_pair_counts"
            )
            if populated:  # into a populated staging: the merge
                load_file(conn, q_file)
            conn.statements = []
            res = load_file(conn, short)
            assert not any(s.startswith("CREATE TEMP TABLE") for s in conn.statements)
            results.append((res.inserted, res.updated, res.unchanged, _fingerprint(conn)))
            padded = conn.execute(
                "SELECT primary_ssic_code, secondary_ssic_code, building_name"
                " FROM staging_acra_companies WHERE uen = ANY(%s) ORDER BY 1",
                (uens,),
            ).fetchall()
            assert padded == [("00130", "04690", None), ("01111", "00000", padded[1][2])]
    get_settings.cache_clear()
    assert results[0] == results[1]


@pytest.mark.parametrize("line_no", [7, 12_000])  # in the first or the second stream
def test_lower_case_uen_in_either_stream_loads_as_the_strict_loader_does(
    empty_db: str, tmp_path: Path, line_no: int
) -> None:
    import csv

    from db.acra import load_file_strict

    with X_FILE.open(encoding="utf-8", newline="") as fh:
        uen = list(csv.reader(fh))[line_no - 1][0]
    lower = _with_cell(tmp_path, line_no, "uen", uen.lower())
    assert _stream_of_line(lower, line_no, 2) == line_no // 10_000
    with psycopg.connect(empty_db, autocommit=True) as conn:
        res = load_file(conn, lower, workers=2)
        assert (res.rows_in_file, res.inserted) == (12_505, 12_505)
        assert conn.execute(
            "SELECT count(*) FROM staging_acra_companies WHERE uen = %s", (uen,)
        ).fetchone() == (1,)
        loaded = _fingerprint(conn)
        conn.execute("TRUNCATE staging_acra_companies, staging_ssic_counts")
        load_file_strict(conn, lower)
        assert _fingerprint(conn) == loaded


def test_fast_path_loads_exactly_what_the_strict_path_loads(empty_db: str) -> None:
    from db.acra import load_file_strict

    with _Recording.connect(empty_db, autocommit=True) as conn:
        conn.statements = []
        for f in sample_files():  # the first into empty staging (swap), the second merged
            load_file(conn, f, workers=2)
        assert not any(s.startswith("CREATE TEMP TABLE") for s in conn.statements)
        fast = conn.execute(
            "SELECT md5(string_agg(s::text, '|' ORDER BY uen)) FROM (SELECT uen, "
            + ", ".join(COLUMNS[1:])
            + ", is_live, source_file FROM staging_acra_companies) s"
        ).fetchone()
        counts = conn.execute(
            "SELECT md5(string_agg(c::text, '|' ORDER BY code)) FROM staging_ssic_counts c"
        ).fetchone()
        conn.execute("TRUNCATE staging_acra_companies, staging_ssic_counts")
        for f in sample_files():
            load_file_strict(conn, f)
        assert (
            conn.execute(
                "SELECT md5(string_agg(s::text, '|' ORDER BY uen)) FROM (SELECT uen, "
                + ", ".join(COLUMNS[1:])
                + ", is_live, source_file FROM staging_acra_companies) s"
            ).fetchone()
            == fast
        )
        assert (
            conn.execute(
                "SELECT md5(string_agg(c::text, '|' ORDER BY code)) FROM staging_ssic_counts c"
            ).fetchone()
            == counts
        )


def test_repeated_uen_later_row_wins_when_merging(empty_db: str, tmp_path: Path) -> None:
    """An earlier changed row and a later unchanged one: the later one wins (no change)."""
    lines = X_FILE.read_text(encoding="utf-8").splitlines(keepends=True)[:31]
    cells = lines[3].rstrip("\n").split(",")
    cells[2] = "EARLIER ROW PTE LTD"
    dup = tmp_path / "dup.csv"
    dup.write_text(lines[0] + ",".join(cells) + "\n" + "".join(lines[1:]), encoding="utf-8")
    with psycopg.connect(empty_db, autocommit=True) as conn:
        load_file(conn, X_FILE, workers=2)
        before = _state(conn)
        res = load_file(conn, dup, workers=2)
        assert (res.rows_in_file, res.inserted, res.updated) == (31, 0, 0)
        assert _state(conn) == before


LATER_MIGRATION = """
ALTER TABLE staging_acra_companies
    ADD COLUMN name_length integer GENERATED ALWAYS AS (length(entity_name)) STORED,
    ADD COLUMN score smallint NOT NULL DEFAULT 0 CONSTRAINT staging_score_range
        CHECK (score BETWEEN 0 AND 100);
CREATE INDEX staging_code_score_idx ON staging_acra_companies
    (primary_ssic_code, score DESC, uen) WHERE is_live;
CREATE INDEX staging_lower_name_idx ON staging_acra_companies
    (lower(entity_name) text_pattern_ops) WITH (fillfactor = 80);
CREATE UNIQUE INDEX staging_name_uen_key ON staging_acra_companies (entity_name, uen);
ALTER TABLE staging_acra_companies ALTER COLUMN primary_ssic_code SET STATISTICS 1000,
    ALTER COLUMN uen SET (n_distinct = -1);
ALTER TABLE staging_acra_companies SET (fillfactor = 90, autovacuum_analyze_scale_factor = 0.02);
CREATE STATISTICS staging_code_status_stats (dependencies)
    ON primary_ssic_code, entity_status_description FROM staging_acra_companies;
COMMENT ON TABLE staging_acra_companies IS 'the registry';
COMMENT ON INDEX staging_code_score_idx IS 'ranked leads per code';
GRANT SELECT ON staging_acra_companies TO PUBLIC;
"""


def _oid(conn: psycopg.Connection) -> object:
    row = conn.execute("SELECT 'staging_acra_companies'::regclass::oid").fetchone()
    assert row is not None
    return row[0]


def test_swap_keeps_everything_a_later_migration_adds(empty_db: str) -> None:
    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute(LATER_MIGRATION.encode())
        schema, oid = _schema(conn), _oid(conn)
        load_file(conn, X_FILE, workers=2)
        assert _oid(conn) != oid  # a rebuilt table was swapped in
        assert _schema(conn) == schema
        assert conn.execute(
            "SELECT bool_and(indisvalid AND indisready) FROM pg_index"
            " WHERE indrelid = 'staging_acra_companies'::regclass"
        ).fetchone() == (True,)
        assert conn.execute(
            "SELECT count(*), bool_and(name_length = length(entity_name)), bool_and(score = 0)"
            " FROM staging_acra_companies"
        ).fetchone() == (12_505, True, True)
        # ... and an index a still later migration creates on staging builds as usual.
        conn.execute("CREATE INDEX staging_postal_idx ON staging_acra_companies (postal_code)")


def test_a_view_on_staging_keeps_the_load_in_place(empty_db: str) -> None:
    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute(
            "CREATE VIEW live_registry AS SELECT uen FROM staging_acra_companies WHERE is_live"
        )
        oid = _oid(conn)
        res = load_file(conn, X_FILE, workers=2)
        assert res.inserted == 12_505
        assert _oid(conn) == oid  # loaded in place
        live = conn.execute("SELECT count(*) FROM live_registry").fetchone()
        assert live is not None and live[0] > 0
        assert conn.execute("SELECT sum(n) FROM staging_ssic_counts").fetchone() == (12_505,)


def test_a_dead_loaders_load_table_is_dropped_a_live_ones_kept(empty_db: str) -> None:
    from db.acra import LOAD_TABLE_LOCK

    with (
        psycopg.connect(empty_db, autocommit=True) as conn,
        psycopg.connect(empty_db, autocommit=True) as other,
    ):
        for name in ("acra_load_1_dead", "acra_load_2_live"):
            conn.execute(f"CREATE TABLE {name} (LIKE staging_acra_companies)")
        oid = other.execute("SELECT 'acra_load_2_live'::regclass::oid::bigint").fetchone()
        assert oid is not None
        other.execute("SELECT pg_advisory_lock(%s)", (LOAD_TABLE_LOCK << 32 | oid[0],))
        load_file(conn, X_FILE, workers=2)
        left = conn.execute(
            "SELECT relname FROM pg_class WHERE relname LIKE 'acra\\_load\\_%' ORDER BY 1"
        ).fetchall()
        assert left == [("acra_load_2_live",)]
