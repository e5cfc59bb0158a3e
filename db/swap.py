"""Replace a table by a rebuilt copy, with its schema derived from the catalog.

A bulk load is fastest into a fresh table with no indexes or CHECK constraints: rows are
COPied in (several streams at once), the constraints are added and the indexes built
afterwards (several at once), and the copy then replaces the live table in one short
transaction. Nothing here names a column, index or constraint: the copy is made with
``CREATE TABLE ... (LIKE ...)`` (columns, defaults, generation expressions, NOT NULL,
storage, comments, extended statistics), and its CHECK constraints, indexes, options and
privileges come from the live table's catalog entries, so whatever a later migration adds
(a generated column, an index, a statistics target) is carried over. Before committing,
the swap compares a fingerprint of both tables' schemas and raises :class:`SwapMismatch`
if they differ; tables with dependents the copy cannot take over (views, triggers,
foreign keys, policies, ...) are reported by :func:`blockers` and never swapped.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from db.queries import q


class SwapMismatch(RuntimeError):
    """The rebuilt copy's schema differs from the live table's; the swap was not made."""


@dataclass(frozen=True)
class IndexBuild:
    """One index of the live table, to build on the copy under a temporary name."""

    tmp: str
    create_sql: str
    name: str
    constraint: str | None
    kind: str | None
    """``p`` (primary key), ``u`` (unique) or None (a plain index)."""
    comment: str | None
    expressions: bool
    """The index has expression columns (ANALYZE gathers statistics for them)."""
    partial: bool
    """The index has a predicate (it holds some of the rows)."""
    columns: int
    """Key and included columns."""


def _params(table: str, load: str = "") -> dict[str, str]:
    return {"table": table, "load": load}


def blockers(conn: psycopg.Connection, table: str) -> list[str]:
    """Return what a swap would not carry over (empty: ``table`` can be swapped)."""
    return [str(r[0]) for r in conn.execute(q("swap_blockers"), _params(table)).fetchall()]


def fingerprint(conn: psycopg.Connection, table: str) -> str:
    """Return a text describing ``table``'s schema by name (see ``table_fingerprint``)."""
    row = conn.execute(q("table_fingerprint"), _params(table)).fetchone()
    return str(row[0]) if row else ""


def create_copy(conn: psycopg.Connection, table: str, load: str, *, logged: bool) -> None:
    """Create ``load`` with ``table``'s columns, without its CHECKs and indexes."""
    conn.execute(
        sql.SQL(
            "CREATE {} TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING GENERATED"
            " INCLUDING IDENTITY INCLUDING STORAGE INCLUDING COMPRESSION INCLUDING COMMENTS"
            " INCLUDING STATISTICS)"
        ).format(sql.SQL("" if logged else "UNLOGGED"), sql.Identifier(load), sql.Identifier(table))
    )


def column_default(conn: psycopg.Connection, table: str, column: str) -> sql.Composable:
    """Return the ALTER COLUMN action that gives ``column`` ``table``'s default back."""
    row = conn.execute(q("column_default"), {**_params(table), "column": column}).fetchone()
    if row is None or row[0] is None:
        return sql.SQL("ALTER COLUMN {} DROP DEFAULT").format(sql.Identifier(column))
    return sql.SQL("ALTER COLUMN {} SET DEFAULT {}").format(sql.Identifier(column), sql.SQL(row[0]))


def copy_settings(conn: psycopg.Connection, table: str, load: str) -> None:
    """Give ``load`` the comment, options, statistics targets and privileges of ``table``."""
    for (stmt,) in conn.execute(q("copy_settings"), _params(table, load)).fetchall():
        conn.execute(str(stmt).encode())


def add_checks(conn: psycopg.Connection, table: str, load: str) -> None:
    """Give ``load`` the CHECK constraints of ``table`` (one validating scan)."""
    checks = conn.execute(q("check_constraints"), _params(table)).fetchall()
    if checks:
        conn.execute(
            sql.SQL("ALTER TABLE {} ").format(sql.Identifier(load))
            + sql.SQL(", ").join(
                sql.SQL("ADD CONSTRAINT {} {}").format(sql.Identifier(name), sql.SQL(definition))
                for name, definition in checks
            )
        )


def index_builds(conn: psycopg.Connection, table: str, load: str) -> list[IndexBuild]:
    """Return ``table``'s indexes as statements that build them on ``load``."""
    builds = []
    for row in conn.execute(q("index_builds"), _params(table, load)).fetchall():
        tmp, create_sql, constraint, kind, name, comment, expressions, partial, columns = row
        if create_sql is None:
            raise SwapMismatch(f"cannot rewrite the definition of index {name}")
        builds.append(
            IndexBuild(
                tmp, create_sql, name, constraint, kind, comment, expressions, partial, columns
            )
        )
    return builds


def build_index(conn: psycopg.Connection, build: IndexBuild) -> None:
    """Build one index on the copy (and its comment)."""
    conn.execute(build.create_sql.encode())
    if build.comment is not None:
        conn.execute(
            sql.SQL("COMMENT ON INDEX {} IS {}").format(
                sql.Identifier(build.tmp), sql.Literal(build.comment)
            )
        )


def swap(conn: psycopg.Connection, table: str, load: str, builds: list[IndexBuild]) -> None:
    """Replace ``table`` by ``load`` inside the caller's transaction (``table`` locked).

    Drops the live table, renames the copy, its indexes and statistics objects to the live
    names, attaches the primary key / unique constraints to their prebuilt indexes, and
    raises :class:`SwapMismatch` (roll the transaction back) unless the schema fingerprint
    is unchanged.
    """
    before = fingerprint(conn, table)
    stats = conn.execute(q("statistics_pairs"), _params(table, load)).fetchall()
    conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(table)))
    conn.execute(
        sql.SQL("ALTER TABLE {} RENAME TO {}").format(sql.Identifier(load), sql.Identifier(table))
    )
    for b in builds:
        if b.constraint is not None:
            kind = {"p": "PRIMARY KEY", "u": "UNIQUE"}.get(b.kind or "")
            if kind is None:
                raise SwapMismatch(f"cannot attach constraint {b.constraint} to a prebuilt index")
            conn.execute(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {} USING INDEX {}").format(
                    sql.Identifier(table),
                    sql.Identifier(b.constraint),
                    sql.SQL(kind),
                    sql.Identifier(b.tmp),
                )
            )
        if b.name != (b.constraint or b.tmp):
            current = b.constraint or b.tmp
            conn.execute(
                sql.SQL("ALTER INDEX {} RENAME TO {}").format(
                    sql.Identifier(current), sql.Identifier(b.name)
                )
            )
    for tmp, name in stats:
        conn.execute(
            sql.SQL("ALTER STATISTICS {} RENAME TO {}").format(
                sql.Identifier(str(tmp)), sql.Identifier(str(name))
            )
        )
    after = fingerprint(conn, table)
    if after != before:
        diff = sorted(set(after.splitlines()) ^ set(before.splitlines()))
        raise SwapMismatch("rebuilt table differs from the live one: " + "; ".join(diff[:6]))
