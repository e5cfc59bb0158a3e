"""Load ACRA "Information on Corporate Entities" CSVs into ``staging_acra_companies``.

**Fast path** (:func:`load_file`): the file is checked chunk by chunk and COPied, typed,
by ``ICP_LOAD_WORKERS`` parallel streams into a load table shaped like staging
(:mod:`db.acra_copy`), which zero-pads short SSIC codes on the way. Into an empty
staging the load table has staging's CHECKs from the start (COPY checks each row), then
gets exact per-code counts (one GROUP BY) beside ANALYZE and staging's indexes (built
side by side, longest first), and replaces staging in one short transaction (:mod:`db.swap`: every
index, constraint, option and privilege is derived from the catalog and the schema is
verified unchanged). Into a populated staging it is merged by UEN with
``INSERT ... ON CONFLICT``, which leaves readers of staging unblocked. Either way the
publishing transaction holds the registry lock (:mod:`db.registry`): it waits for
running jobs to finish their walk, and concurrent loads publish one after the other.

**Strict path**: anything the fast path does not load exactly as this path would (a
value to reject, a record to normalise, a UEN repeated in the file) sends the whole file
here. The file is streamed with COPY into a temporary all-text table, then converted
strictly (``na`` -> NULL, SSIC codes padded to 5 digits, ISO dates only, UENs upper-cased,
never trimmed: a UEN with spaces around it is an error) and merged into
staging by ``uen`` in one transaction. A value the conversion must not take raises inside
the merge; only then the detailed validation query runs, so a malformed file leaves
staging exactly as it was and the error names the file, line and column."""

from __future__ import annotations

import csv
import logging
import os
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TextIO

import psycopg
from psycopg import sql

from config.settings import get_settings
from db import swap
from db.acra_copy import CHUNK, NotFastPath, copy_parallel
from db.queries import q
from db.registry import lock_for_load, mark_changed

COLUMNS: tuple[str, ...] = (
    "uen",
    "issuance_agency_id",
    "entity_name",
    "entity_type_description",
    "business_constitution_description",
    "company_type_description",
    "paf_constitution_description",
    "entity_status_description",
    "registration_incorporation_date",
    "uen_issue_date",
    "address_type",
    "block",
    "street_name",
    "level_no",
    "unit_no",
    "building_name",
    "postal_code",
    "other_address_line1",
    "other_address_line2",
    "account_due_date",
    "annual_return_date",
    "primary_ssic_code",
    "primary_ssic_description",
    "primary_user_described_activity",
    "secondary_ssic_code",
    "secondary_ssic_description",
    "secondary_user_described_activity",
    "no_of_officers",
    *(f"former_entity_name{i}" for i in range(1, 16)),
    *(f for i in range(1, 6) for f in (f"uen_of_audit_firm{i}", f"name_of_audit_firm{i}")),
)
assert len(COLUMNS) == 53

DATE_COLUMNS = frozenset(
    {"registration_incorporation_date", "uen_issue_date", "account_due_date", "annual_return_date"}
)
CODE_COLUMNS = frozenset({"primary_ssic_code", "secondary_ssic_code"})
INT_COLUMNS = frozenset({"no_of_officers"})

_DATE_RE = r"^[12][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
# What makes a UEN untrimmed (an error: a real ACRA file has none) at either end.
_WHITESPACE = " \t\r\n\v\f"


class LoadError(ValueError):
    """An ACRA file cannot be loaded; the message names file, line and column."""


@dataclass(frozen=True)
class LoadResult:
    """What one file did to staging."""

    path: Path
    rows_in_file: int
    inserted: int
    updated: int
    unchanged: int


def check_header(path: Path, first_line: str) -> None:
    """Fail unless the header is exactly the 53 published ACRA columns."""
    try:
        header = next(csv.reader([first_line.lstrip("\ufeff")]))
    except (csv.Error, StopIteration):
        raise LoadError(f"{path}: line 1: unreadable header") from None
    names = [h.strip().lower() for h in header]
    for i, expected in enumerate(COLUMNS):
        got = names[i] if i < len(names) else None
        if got != expected:
            raise LoadError(
                f"{path}: line 1, column {i + 1}: header has {got!r}, expected {expected!r}"
                " (an ACRA 'Information on Corporate Entities' file has 53 columns)"
            )
    if len(names) > len(COLUMNS):
        raise LoadError(f"{path}: line 1: header has {len(names)} columns, expected 53")


def _bad_expr(col: str) -> sql.Composable:
    c = sql.Identifier(col)
    if col in DATE_COLUMNS:
        return sql.SQL(
            "({c} IS NOT NULL AND {c} <> 'na' AND NOT CASE WHEN {c} ~ {re} THEN "
            "to_char(make_date(substr({c},1,4)::int, substr({c},6,2)::int, 1)"
            " + (substr({c},9,2)::int - 1), 'YYYY-MM-DD') = {c} ELSE false END)"
        ).format(c=c, re=sql.Literal(_DATE_RE))
    if col in CODE_COLUMNS:
        return sql.SQL("({c} IS NOT NULL AND {c} <> 'na' AND {c} !~ '^[0-9]{{1,5}}$')").format(c=c)
    if col in INT_COLUMNS:
        return sql.SQL("({c} IS NOT NULL AND {c} <> 'na' AND {c} !~ '^[0-9]{{1,9}}$')").format(c=c)
    if col == "uen":
        return sql.SQL(
            "({c} IS NULL OR {c} = 'na' OR btrim({c}) = '' OR btrim({c}, {ws}) <> {c})"
        ).format(c=c, ws=sql.Literal(_WHITESPACE))
    if col == "entity_name":
        return sql.SQL("({c} IS NULL OR {c} = 'na' OR btrim({c}) = '')").format(c=c)
    raise AssertionError(col)


_CHECKED = [
    c
    for c in COLUMNS
    if c in DATE_COLUMNS | CODE_COLUMNS | INT_COLUMNS or c in ("uen", "entity_name")
]
_PROBLEM = {
    **{c: "not a date (expected YYYY-MM-DD or na)" for c in DATE_COLUMNS},
    **{c: "not a numeric SSIC code (expected up to 5 digits or na)" for c in CODE_COLUMNS},
    **{c: "not a whole number (or na)" for c in INT_COLUMNS},
    "uen": "missing UEN, or spaces before or after it",
    "entity_name": "missing entity name",
}


def _convert(col: str) -> sql.Composable:
    """Return the strict conversion of one text column, as the merge inserts it.

    A value the validation query would reject never converts silently: it reaches
    ``pg_temp.acra_reject`` (which raises) or a cast that raises (``2019-02-30``). The
    checks are cheaper equivalents of :func:`_bad_expr`'s regular expressions (measured
    0.9 s per date column per million rows for the regex): a date must read back
    unchanged from the date it casts to (``DateStyle`` is ISO inside the load), which only
    canonical ``YYYY-MM-DD`` does, with a year from 1000 to 2999.
    """
    c = sql.Identifier(col)

    def reject(typ: str) -> sql.Composable:
        return sql.SQL("pg_temp.acra_reject({c}, NULL::{t})").format(c=c, t=sql.SQL(typ))

    if col in DATE_COLUMNS:
        return sql.SQL(
            "CASE WHEN {c} IS NULL OR {c} = 'na' THEN NULL"
            " WHEN {c} LIKE '____-__-__' AND {c} >= '1' AND {c} < '3' AND {c}::date::text = {c}"
            " THEN {c}::date ELSE {reject} END"
        ).format(c=c, reject=reject("date"))
    if col in CODE_COLUMNS | INT_COLUMNS:
        digits, typ = (5, "text") if col in CODE_COLUMNS else (9, "integer")
        value = sql.SQL("lpad({c}, 5, '0')" if col in CODE_COLUMNS else "{c}::integer")
        return sql.SQL(
            "CASE WHEN {c} IS NULL OR {c} = 'na' THEN NULL"
            " WHEN length({c}) BETWEEN 1 AND {n} AND ltrim({c}, '0123456789') = ''"
            " THEN {value} ELSE {reject} END"
        ).format(c=c, n=sql.Literal(digits), value=value.format(c=c), reject=reject(typ))
    if col == "uen":
        return sql.SQL(
            "CASE WHEN {c} <> 'na' AND btrim({c}) <> '' AND btrim({c}, {ws}) = {c}"
            " THEN upper({c}) ELSE {reject} END"
        ).format(c=c, ws=sql.Literal(_WHITESPACE), reject=reject("text"))
    if col == "entity_name":
        return sql.SQL(
            "CASE WHEN {c} <> 'na' AND btrim({c}) <> '' THEN {c} ELSE {reject} END"
        ).format(c=c, reject=reject("text"))
    return sql.SQL("NULLIF({c}, 'na')").format(c=c)


# Called by the strict conversion for a value it must not take. The loader then rolls the
# merge back and runs the detailed validation query to name the first bad line and column.
REJECT_FUNCTION = """
CREATE OR REPLACE FUNCTION pg_temp.acra_reject(val text, result_type anyelement)
RETURNS anyelement LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'data_exception',
        MESSAGE = 'invalid ACRA value ' || coalesce(quote_literal(val), 'NULL');
END $$
"""


def _merge_sql(src: sql.Composable) -> sql.Composed:
    """Return the merge by UEN of the rows ``src`` selects (result: inserted, updated)."""
    cols = sql.SQL(", ").join(map(sql.Identifier, COLUMNS))
    updates = sql.SQL(", ").join(
        sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in COLUMNS[1:]
    )
    changed = sql.SQL(" OR ").join(
        sql.SQL("s.{c} IS DISTINCT FROM EXCLUDED.{c}").format(c=sql.Identifier(c))
        for c in COLUMNS[1:]
    )
    return sql.SQL(
        "WITH up AS (INSERT INTO staging_acra_companies AS s ({cols}, source_file) {src}"
        " ON CONFLICT (uen) DO UPDATE SET {updates}, source_file = EXCLUDED.source_file,"
        " loaded_at = now() WHERE {changed} RETURNING (xmax = 0) AS inserted)"
        " SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)"
        " FROM up"
    ).format(cols=cols, src=src, updates=updates, changed=changed)


def _statements() -> dict[str, sql.Composed]:
    cols = sql.SQL(", ").join(map(sql.Identifier, COLUMNS))
    text_cols = sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in COLUMNS)
    bad_any = sql.SQL(" OR ").join(_bad_expr(c) for c in _CHECKED)
    which = sql.SQL(" ").join(
        sql.SQL("WHEN {} THEN {}").format(_bad_expr(c), sql.Literal(c)) for c in _CHECKED
    )
    converted = sql.SQL(", ").join(_convert(c) for c in COLUMNS)
    # The file's rows in file order, or (de-duplicating) only the last row of each UEN.
    sources = {
        "": sql.SQL("SELECT {converted}, %(source_file)s FROM acra_load").format(
            converted=converted
        ),
        "_dedup": sql.SQL(
            "SELECT DISTINCT ON (upper(uen)) {converted}, %(source_file)s"
            " FROM acra_load ORDER BY upper(uen), rec_no DESC"
        ).format(converted=converted),
    }
    stmts = {
        "create": sql.SQL(
            "CREATE TEMP TABLE acra_load (rec_no bigint GENERATED ALWAYS AS IDENTITY, {})"
            " ON COMMIT DROP"
        ).format(text_cols),
        "copy": sql.SQL("COPY acra_load ({}) FROM STDIN WITH (FORMAT csv, HEADER true)").format(
            cols
        ),
        "first_bad": sql.SQL(
            "SELECT rec_no, CASE {which} END AS col FROM acra_load WHERE {bad}"
            " ORDER BY rec_no LIMIT 1"
        ).format(which=which, bad=bad_any),
    }
    for suffix, src in sources.items():
        stmts["merge" + suffix] = _merge_sql(src)
    return stmts


_STMTS = _statements()


# Exact per-code counts and per (secondary, primary) code pair counts (rows a search
# matches by a secondary code only), both from one GROUP BY of staging's rows by their
# (primary, secondary) codes (``{source}``: rows code, secondary code, n, n_live): kept
# rows updated, vanished ones deleted. Every load path runs it in its publishing
# transaction; the fast path into an empty staging passes the groups it counted on the
# load table beforehand (:data:`_REPLACE_COUNTS`) instead of reading staging again.
_COUNTS_FROM = """
WITH g (code, secondary, n, n_live) AS MATERIALIZED ({source}),
fresh AS (
    SELECT code, sum(n)::bigint AS n, sum(n_live)::bigint AS n_live
    FROM g WHERE code IS NOT NULL GROUP BY 1
), pairs AS (
    SELECT secondary, coalesce(code, '') AS code, sum(n)::bigint AS n,
           sum(n_live)::bigint AS n_live
    FROM g WHERE secondary IS NOT NULL GROUP BY 1, 2
), gone AS (
    DELETE FROM staging_ssic_counts c WHERE NOT EXISTS (SELECT 1 FROM fresh f WHERE f.code = c.code)
), gone_pairs AS (
    DELETE FROM staging_ssic_pair_counts c WHERE NOT EXISTS (
        SELECT 1 FROM pairs f WHERE f.secondary = c.secondary_code AND f.code = c.primary_code)
), new_pairs AS (
    INSERT INTO staging_ssic_pair_counts AS c (secondary_code, primary_code, n, n_live)
    SELECT secondary, code, n, n_live FROM pairs
    ON CONFLICT (secondary_code, primary_code)
    DO UPDATE SET n = EXCLUDED.n, n_live = EXCLUDED.n_live
    WHERE (c.n, c.n_live) IS DISTINCT FROM (EXCLUDED.n, EXCLUDED.n_live)
)
INSERT INTO staging_ssic_counts AS c (code, n, n_live) SELECT code, n, n_live FROM fresh
ON CONFLICT (code) DO UPDATE SET n = EXCLUDED.n, n_live = EXCLUDED.n_live
WHERE (c.n, c.n_live) IS DISTINCT FROM (EXCLUDED.n, EXCLUDED.n_live)
"""
# The groups of a table's rows by (primary, secondary) code, as ``_COUNTS_FROM`` reads them.
_CODE_GROUPS = """
SELECT primary_ssic_code, secondary_ssic_code, count(*), count(*) FILTER (WHERE is_live)
FROM {table} GROUP BY 1, 2
"""
REFRESH_COUNTS = _COUNTS_FROM.replace(
    "{source}", _CODE_GROUPS.strip().replace("{table}", "staging_acra_companies")
)
_REPLACE_COUNTS = _COUNTS_FROM.replace(
    "{source}", "SELECT * FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::bigint[])"
)

IS_EMPTY = "SELECT NOT EXISTS (SELECT FROM staging_acra_companies)"
# Settings for the load transaction only (SET LOCAL): an in-memory sort for the
# de-duplicating DISTINCT ON and the counts, in-memory index builds on the fast path, and
# the ISO date output the strict date check compares with.
LOCAL_SETTINGS = {"work_mem": "256MB", "maintenance_work_mem": "512MB", "DateStyle": "ISO, YMD"}
# ANALYZE after a load that changed at least this share of staging (or left it without
# statistics); smaller changes leave the statistics to autovacuum.
ANALYZE_SHARE = 0.1
_STATS = """
SELECT c.reltuples,
       EXISTS (SELECT 1 FROM pg_stats s WHERE s.schemaname = n.nspname
               AND s.tablename = c.relname AND s.attname = 'primary_ssic_code')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = 'staging_acra_companies'::regclass
"""

_CONTEXT_LINE = re.compile(r"line (\d+)(?:, column (\w+))?")
# A value the strict conversion rejected (raised DataError) or staging's constraints refused.
_VALUE_ERRORS = (psycopg.errors.DataError, psycopg.errors.IntegrityError)


def _chunks(path: Path, progress: Progress | None) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            if progress:
                progress.chunk(len(chunk), chunk.count(b"\n"))
            yield chunk


def physical_line(path: Path, rec_no: int) -> int:
    """Return the file line on which data record ``rec_no`` (1-based) starts."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        prev_end = 0
        for i, _ in enumerate(reader):
            if i == rec_no:  # record 0 is the header
                return prev_end + 1
            prev_end = reader.line_num
    return rec_no + 1


def load_file(
    conn: psycopg.Connection,
    path: Path,
    *,
    progress: Progress | None = None,
    workers: int | None = None,
    conninfo: str | None = None,
) -> LoadResult:
    """Load one ACRA CSV into staging; raise LoadError (staging unchanged) if it is malformed.

    ``conn`` must be in autocommit mode. The fast path streams over ``workers`` extra
    connections (default ``ICP_LOAD_WORKERS``) made from ``conninfo`` (default: ``conn``'s
    parameters); whatever it cannot load exactly as the strict path would goes to the
    strict path (:func:`load_file_strict`), which loads it or names the bad line.
    """
    path = Path(path)
    _read_header(path)
    try:
        return _load_fast(
            conn,
            path,
            workers=workers or get_settings().load_workers,
            conninfo=conninfo or _conninfo(conn),
            progress=progress,
        )
    except _NOT_FAST as exc:
        if isinstance(exc, swap.SwapMismatch):
            logging.getLogger("icp.db").warning("registry swap refused, loading in place: %s", exc)
        if progress:
            progress.restart("checking every value")
    return load_file_strict(conn, path, progress=progress)


def _read_header(path: Path) -> None:
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            first = fh.readline()
    except (OSError, UnicodeDecodeError) as exc:
        raise LoadError(f"{path}: cannot read: {exc}") from None
    check_header(path, first)


def load_file_strict(
    conn: psycopg.Connection, path: Path, *, progress: Progress | None = None
) -> LoadResult:
    """Load one ACRA CSV the strict way, in one transaction (see the module docstring).

    The file is COPied into a temporary all-text table and converted strictly inside the
    merge itself: a bad value raises, the merge is rolled back to a savepoint, and only then
    the detailed validation query runs to name the first bad line and column. Into an
    The rows are merged by UEN with ``INSERT ... ON CONFLICT``, which leaves readers of
    staging unblocked.
    """
    path = Path(path)
    _read_header(path)
    with conn.transaction():
        for name, value in LOCAL_SETTINGS.items():
            conn.execute("SELECT set_config(%s, %s, true)", (name, value))
        conn.execute(REJECT_FUNCTION)
        conn.execute(_STMTS["create"])
        try:
            with conn.cursor() as cur:
                with cur.copy(_STMTS["copy"]) as cp:
                    for chunk in _chunks(path, progress):
                        cp.write(chunk)
                n = max(cur.rowcount, 0)
        except psycopg.errors.DataError as exc:  # bad quoting, column count, encoding
            raise _copy_error(path, exc) from None
        if progress:
            progress.phase("merging")
        lock_for_load(conn)
        try:
            with conn.transaction():
                inserted, updated, fresh = _merge(conn, path.name)
        except _VALUE_ERRORS as exc:
            raise _value_error(conn, path, exc) from None
        conn.execute(REFRESH_COUNTS)
        if inserted or updated:
            mark_changed(conn)
    if _needs_analyze(conn, inserted + updated, fresh):
        conn.execute("ANALYZE staging_acra_companies")
    if progress:
        progress.done(n)
    return LoadResult(path, n, inserted, updated, n - inserted - updated)


# What sends a file from the fast path to the strict one: data the fast path does not
# take (NotFastPath, a COPY or constraint error, a UEN repeated in the file) or a schema
# the swap cannot reproduce.
_NOT_FAST = (
    NotFastPath,
    swap.SwapMismatch,
    psycopg.errors.DataError,
    psycopg.errors.IntegrityError,
    psycopg.errors.CardinalityViolation,
)
STAGING = "staging_acra_companies"
LOAD_TABLE_LOCK = 0x1C9_0003  # pg_advisory_lock(LOAD_TABLE_LOCK << 32 | oid): a load table in use
_DUPLICATE = "SELECT uen FROM {load} GROUP BY uen HAVING count(*) > 1 LIMIT 1"


def _conninfo(conn: psycopg.Connection) -> str:
    """Return a conninfo for more connections like ``conn`` (its password included)."""
    password = conn.info.password
    return psycopg.conninfo.make_conninfo(
        conn.info.dsn, **({"password": password} if password else {})
    )


def _drop_stale_load_tables(conn: psycopg.Connection) -> None:
    """Drop load tables whose loader died (nobody holds their advisory lock)."""
    for oid, name in conn.execute(q("stale_load_tables")).fetchall():
        key = LOAD_TABLE_LOCK << 32 | int(oid)
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
        if row and row[0]:
            try:
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (key,))


def _load_fast(
    conn: psycopg.Connection,
    path: Path,
    *,
    workers: int,
    conninfo: str,
    progress: Progress | None,
) -> LoadResult:
    """Typed parallel COPY into a load table, then swap it in or merge it (see module doc)."""
    _drop_stale_load_tables(conn)
    swappable = _is_empty(conn) and not swap.blockers(conn, STAGING)
    load = f"acra_load_{os.getpid()}_{secrets.token_hex(4)}"
    ident = sql.Identifier(load)
    swap.create_copy(conn, STAGING, load, logged=swappable)
    row = conn.execute("SELECT %s::regclass::oid::bigint", (load,)).fetchone()
    key = LOAD_TABLE_LOCK << 32 | int(row[0] if row else 0)
    conn.execute("SELECT pg_advisory_lock(%s)", (key,))
    try:
        # Every row of one load carries the same source file and load time.
        conn.execute(
            sql.SQL(
                "ALTER TABLE {} ALTER COLUMN source_file SET DEFAULT {},"
                " ALTER COLUMN loaded_at SET DEFAULT {}"
            ).format(ident, sql.Literal(path.name), sql.Literal(_now(conn)))
        )
        if swappable:
            # The chunks arrive with 5-digit codes: COPY checks each row against staging's
            # CHECKs, and adding them to the empty table needs no validating scan.
            swap.add_checks(conn, STAGING, load)
        n = copy_parallel(
            conninfo,
            load,
            COLUMNS,
            path,
            workers=workers,
            on_chunk=progress.chunk if progress else None,
        )
        conn.execute(
            sql.SQL("ALTER TABLE {} ").format(ident)
            + sql.SQL(", ").join(
                swap.column_default(conn, STAGING, c) for c in ("source_file", "loaded_at")
            )
        )
        builds: list[swap.IndexBuild] = []
        groups: list[tuple[str | None, str | None, int, int]] = []
        if swappable:
            # Options and statistics targets first: ANALYZE (beside the counts) uses them.
            swap.copy_settings(conn, STAGING, load)
            builds = swap.index_builds(conn, STAGING, load)
            if progress:
                progress.phase(f"building {len(builds)} indexes, counting, ANALYZE")
            # One queue, so no connection idles until the end: ANALYZE and the counts side by
            # side (ANALYZE's lock conflicts with CREATE INDEX's, so it goes first), then the
            # index builds longest first (whole-table, then wider).
            order = sorted(builds, key=lambda b: (b.partial, -b.columns))
            tasks = [partial(swap.build_index, build=b) for b in order]
            _run_tasks(conninfo, [_analyze(load), _code_groups(load, groups), *tasks], workers)
            if any(b.expressions for b in builds):  # their statistics come from ANALYZE
                conn.execute(sql.SQL("ANALYZE {}").format(ident))
        else:
            if progress:
                progress.phase("checking UENs")
            _run_tasks(conninfo, [_check_unique(load)], 1)  # with the load's work_mem
        if progress:
            progress.phase("publishing (waits for running jobs)")
        with conn.transaction():
            for name, value in LOCAL_SETTINGS.items():
                conn.execute("SELECT set_config(%s, %s, true)", (name, value))
            lock_for_load(conn)
            if swappable:
                conn.execute(
                    sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(
                        sql.Identifier(STAGING)
                    )
                )
            if swappable and _is_empty(conn):
                swap.swap(conn, STAGING, load, builds)
                conn.execute(
                    _REPLACE_COUNTS, [list(x) for x in zip(*groups, strict=True)] or [[]] * 4
                )
                inserted, updated, fresh = n, 0, True
            else:
                row = conn.execute(_merge_from(load), prepare=False).fetchone()
                assert row is not None
                inserted, updated, fresh = int(row[0]), int(row[1]), False
                conn.execute(REFRESH_COUNTS)
            if inserted or updated:
                mark_changed(conn)
    finally:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(ident))
        conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
    if not fresh and _needs_analyze(conn, inserted + updated, fresh):
        conn.execute("ANALYZE staging_acra_companies")
    if progress:
        progress.done(n)
    return LoadResult(path, n, inserted, updated, n - inserted - updated)


def _now(conn: psycopg.Connection) -> object:
    row = conn.execute("SELECT now()").fetchone()
    assert row is not None
    return row[0]


def _merge_from(load: str) -> sql.Composed:
    """Return the merge of a typed load table into staging (rows: inserted, updated).

    Only rows that are new or differ from staging reach ``INSERT ... ON CONFLICT``: a
    conflicting row is locked (a WAL record) even when nothing changes, so a reload of
    mostly unchanged rows is cheaper as one join. The load table must hold each UEN once
    (:data:`_DUPLICATE`), or an unchanged later row would not override an earlier one.
    """
    cols = sql.SQL(", ").join(sql.SQL("l.{}").format(sql.Identifier(c)) for c in COLUMNS)

    def row(alias: str) -> sql.Composable:
        return sql.SQL(", ").join(
            sql.SQL("{}.{}").format(sql.Identifier(alias), sql.Identifier(c)) for c in COLUMNS[1:]
        )

    src = sql.SQL(
        "SELECT {cols}, l.source_file FROM {load} l"
        " LEFT JOIN staging_acra_companies s ON s.uen = l.uen"
        " WHERE s.uen IS NULL OR ({old}) IS DISTINCT FROM ({new})"
    ).format(cols=cols, load=sql.Identifier(load), old=row("s"), new=row("l"))
    return _merge_sql(src)


Task = Callable[[psycopg.Connection], None]


def _check_unique(load: str) -> Task:
    """Return a task raising NotFastPath if the load table repeats a UEN."""

    def task(conn: psycopg.Connection) -> None:
        if conn.execute(sql.SQL(_DUPLICATE).format(load=sql.Identifier(load))).fetchone():
            raise NotFastPath("the file repeats a UEN")

    return task


def _code_groups(load: str, into: list[tuple[str | None, str | None, int, int]]) -> Task:
    """Return a task adding the load table's rows grouped by (primary, secondary) code."""

    def task(conn: psycopg.Connection) -> None:
        stmt = sql.SQL(_CODE_GROUPS).format(table=sql.Identifier(load))
        into.extend((c, s, int(n), int(live)) for c, s, n, live in conn.execute(stmt))

    return task


def _analyze(load: str) -> Task:
    """Return a task running ANALYZE on the load table."""

    def task(conn: psycopg.Connection) -> None:
        conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(load)))

    return task


def _run_tasks(conninfo: str, tasks: list[Task], workers: int) -> None:
    """Run the tasks on ``workers`` connections at once, in order; re-raise the first error."""
    todo = list(reversed(tasks))
    errors: list[BaseException] = []
    guard = threading.Lock()

    def worker() -> None:
        try:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                for name, value in LOCAL_SETTINGS.items():
                    conn.execute("SELECT set_config(%s, %s, false)", (name, value))
                if workers > 1:  # indexes are built side by side instead
                    conn.execute("SET max_parallel_maintenance_workers = 0")
                while not errors:
                    with guard:
                        if not todo:
                            return
                        task = todo.pop()
                    task(conn)
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def _merge(conn: psycopg.Connection, source_file: str) -> tuple[int, int, bool]:
    """Move the temp table into staging; return (inserted, updated, into an empty table)."""
    params = {"source_file": source_file}
    fresh = _is_empty(conn)
    try:
        with conn.transaction():
            row = conn.execute(_STMTS["merge"], params, prepare=False).fetchone()
    except psycopg.errors.CardinalityViolation:  # the file repeats a UEN: the last row wins
        row = conn.execute(_STMTS["merge_dedup"], params, prepare=False).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), fresh


def _is_empty(conn: psycopg.Connection) -> bool:
    row = conn.execute(IS_EMPTY).fetchone()
    return bool(row and row[0])


def _needs_analyze(conn: psycopg.Connection, changed: int, fresh: bool) -> bool:
    """Return whether the load changed enough of staging (or it has no statistics yet)."""
    if changed == 0:
        return False
    if fresh:
        return True
    row = conn.execute(_STATS).fetchone()
    if row is None or not row[1]:
        return True
    return changed >= ANALYZE_SHARE * max(float(row[0]), 1.0)


def _value_error(conn: psycopg.Connection, path: Path, exc: psycopg.Error) -> LoadError:
    """Name the first bad line and column of the file (the merge rejected a value)."""
    bad = conn.execute(_STMTS["first_bad"]).fetchone()
    if not bad:
        detail = (exc.diag.message_primary or str(exc)).strip()
        return LoadError(f"{path}: rejected by staging: {detail}")
    rec_no, col = int(bad[0]), str(bad[1])
    value = conn.execute(
        sql.SQL("SELECT {} FROM acra_load WHERE rec_no = %s").format(sql.Identifier(col)),
        (rec_no,),
    ).fetchone()
    return LoadError(
        f"{path}: line {physical_line(path, rec_no)}, column {col}: "
        f"{_PROBLEM[col]}, got {value[0] if value else None!r}"
    )


def _copy_error(path: Path, exc: psycopg.Error) -> LoadError:
    context = exc.diag.context or ""
    m = _CONTEXT_LINE.search(context)
    where = f"line {m.group(1)}" if m else "unknown line"
    if m and m.group(2):
        where += f", column {m.group(2)}"
    detail = (exc.diag.message_primary or str(exc)).strip()
    return LoadError(f"{path}: {where}: {detail}")


class Progress:
    """Show one file's load on a terminal: rows, rows/s and ETA, then each later phase.

    Quiet unless ``stream`` is a terminal (or ``enabled`` says otherwise). Rows are counted
    as newlines sent, so a quoted multi-line value counts more than once; the ETA comes
    from the bytes sent and the file's size.
    """

    def __init__(
        self, path: Path, *, stream: TextIO | None = None, enabled: bool | None = None
    ) -> None:
        """Track the load of ``path``."""
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.name = path.name
        self.total = max(path.stat().st_size, 1) if path.exists() else 1
        self.restart("")

    def restart(self, what: str) -> None:
        """Start counting the file again (the strict path reads it once more)."""
        self.bytes = self.rows = 0
        self.t0 = time.monotonic()
        self.shown = 0.0
        if what:
            self._show(what, end="\n")

    def chunk(self, nbytes: int, rows: int) -> None:
        """Record one more chunk sent to COPY."""
        self.bytes += nbytes
        self.rows += rows
        now = time.monotonic()
        if now - self.shown >= 0.5:
            self.shown = now
            elapsed = max(now - self.t0, 1e-6)
            rate = self.rows / elapsed
            eta = elapsed * (self.total - self.bytes) / max(self.bytes, 1)
            self._show(
                f"{self.rows:,} rows, {rate:,.0f} rows/s, "
                f"{min(self.bytes * 100 // self.total, 100)} %, ETA {eta:,.0f} s"
            )

    def phase(self, what: str) -> None:
        """Show the phase after COPY that is running now."""
        self._show(f"{self.rows:,} rows sent; {what}")

    def done(self, rows: int) -> None:
        """End the progress line."""
        self._show(f"{rows:,} rows in {time.monotonic() - self.t0:,.1f} s", end="\n")

    def _show(self, text: str, end: str = "") -> None:
        if self.enabled:
            print(f"\r\x1b[K{self.name}: {text}", end=end, file=self.stream, flush=True)
