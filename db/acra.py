"""Load ACRA "Information on Corporate Entities" CSVs into ``staging_acra_companies``.

The file is streamed with COPY into a temporary all-text table, validated in one
set-based pass, converted (``na`` -> NULL, SSIC codes padded to 5 digits, ISO dates)
and merged into staging by ``uen`` in the same transaction: a malformed file leaves
staging exactly as it was, and the error names the file, line and column.
"""

from __future__ import annotations

import csv
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

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
CHUNK = 1 << 20

_DATE_RE = r"^[12][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"


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
    if col in ("uen", "entity_name"):
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
    "uen": "missing UEN",
    "entity_name": "missing entity name",
}


def _convert(col: str) -> sql.Composable:
    c = sql.Identifier(col)
    if col in DATE_COLUMNS:
        return sql.SQL("NULLIF({c}, 'na')::date").format(c=c)
    if col in CODE_COLUMNS:
        return sql.SQL("lpad(NULLIF({c}, 'na'), 5, '0')").format(c=c)
    if col in INT_COLUMNS:
        return sql.SQL("NULLIF({c}, 'na')::integer").format(c=c)
    if col == "uen":
        return sql.SQL("upper(btrim({c}))").format(c=c)
    return sql.SQL("NULLIF({c}, 'na')").format(c=c)


def _statements() -> dict[str, sql.Composed]:
    cols = sql.SQL(", ").join(map(sql.Identifier, COLUMNS))
    text_cols = sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in COLUMNS)
    bad_any = sql.SQL(" OR ").join(_bad_expr(c) for c in _CHECKED)
    which = sql.SQL(" ").join(
        sql.SQL("WHEN {} THEN {}").format(_bad_expr(c), sql.Literal(c)) for c in _CHECKED
    )
    converted = sql.SQL(", ").join(_convert(c) for c in COLUMNS)
    updates = sql.SQL(", ").join(
        sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in COLUMNS[1:]
    )
    changed = sql.SQL(" OR ").join(
        sql.SQL("s.{c} IS DISTINCT FROM EXCLUDED.{c}").format(c=sql.Identifier(c))
        for c in COLUMNS[1:]
    )
    return {
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
        "merge": sql.SQL(
            "WITH src AS (SELECT DISTINCT ON (upper(btrim(uen))) {converted}, %s AS source_file"
            " FROM acra_load ORDER BY upper(btrim(uen)), rec_no DESC)"
            " INSERT INTO staging_acra_companies AS s ({cols}, source_file)"
            " SELECT * FROM src"
            " ON CONFLICT (uen) DO UPDATE SET {updates}, source_file = EXCLUDED.source_file,"
            " loaded_at = now() WHERE {changed}"
            " RETURNING (xmax = 0) AS inserted"
        ).format(converted=converted, cols=cols, updates=updates, changed=changed),
    }


_STMTS = _statements()

REFRESH_COUNTS = """
WITH fresh AS (
    SELECT primary_ssic_code AS code, count(*) AS n, count(*) FILTER (WHERE is_live) AS n_live
    FROM staging_acra_companies WHERE primary_ssic_code IS NOT NULL GROUP BY 1
), gone AS (
    DELETE FROM staging_ssic_counts c WHERE NOT EXISTS (SELECT 1 FROM fresh f WHERE f.code = c.code)
)
INSERT INTO staging_ssic_counts (code, n, n_live) SELECT code, n, n_live FROM fresh
ON CONFLICT (code) DO UPDATE SET n = EXCLUDED.n, n_live = EXCLUDED.n_live
"""

_CONTEXT_LINE = re.compile(r"line (\d+)(?:, column (\w+))?")


def _chunks(path: Path, progress: Callable[[int], None] | None) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            if progress:
                progress(len(chunk))
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
    conn: psycopg.Connection, path: Path, *, progress: Callable[[int], None] | None = None
) -> LoadResult:
    """Load one ACRA CSV into staging in one transaction; raise LoadError if it is malformed."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            first = fh.readline()
    except (OSError, UnicodeDecodeError) as exc:
        raise LoadError(f"{path}: cannot read: {exc}") from None
    check_header(path, first)
    with conn.transaction():
        conn.execute(_STMTS["create"])
        try:
            with conn.cursor().copy(_STMTS["copy"]) as cp:
                for chunk in _chunks(path, progress):
                    cp.write(chunk)
        except psycopg.errors.DataError as exc:  # bad quoting, column count, encoding
            raise _copy_error(path, exc) from None
        rows = conn.execute("SELECT count(*) FROM acra_load").fetchone()
        n = int(rows[0]) if rows else 0
        bad = conn.execute(_STMTS["first_bad"]).fetchone()
        if bad:
            rec_no, col = int(bad[0]), str(bad[1])
            value = conn.execute(
                sql.SQL("SELECT {} FROM acra_load WHERE rec_no = %s").format(sql.Identifier(col)),
                (rec_no,),
            ).fetchone()
            raise LoadError(
                f"{path}: line {physical_line(path, rec_no)}, column {col}: "
                f"{_PROBLEM[col]}, got {value[0] if value else None!r}"
            )
        flags = conn.execute(_STMTS["merge"], (path.name,), prepare=False).fetchall()
        inserted = sum(1 for f in flags if f[0])
        conn.execute(REFRESH_COUNTS)
    conn.execute("ANALYZE staging_acra_companies")
    return LoadResult(path, n, inserted, len(flags) - inserted, n - len(flags))


def _copy_error(path: Path, exc: psycopg.Error) -> LoadError:
    context = exc.diag.context or ""
    m = _CONTEXT_LINE.search(context)
    where = f"line {m.group(1)}" if m else "unknown line"
    if m and m.group(2):
        where += f", column {m.group(2)}"
    detail = (exc.diag.message_primary or str(exc)).strip()
    return LoadError(f"{path}: {where}: {detail}")


class ByteProgress:
    """Print load progress to stderr for files large enough to take a while."""

    def __init__(self, path: Path, *, min_bytes: int = 32 * CHUNK) -> None:
        """Track progress through ``path``."""
        self.total = max(path.stat().st_size, 1)
        self.seen = 0
        self.last_pct = -10
        self.enabled = self.total >= min_bytes
        self.name = path.name

    def __call__(self, n: int) -> None:
        """Record ``n`` more bytes sent."""
        self.seen += n
        pct = self.seen * 100 // self.total
        if self.enabled and pct >= self.last_pct + 10:
            self.last_pct = pct
            print(f"  {self.name}: {pct}% sent to COPY", file=sys.stderr, flush=True)
