"""Named SQL blocks and migration files parse as the loaders expect."""

from __future__ import annotations

import pytest

from db.migrate import discover, split_statements
from db.queries import _all, parse_blocks, resolve_includes


def test_parse_blocks() -> None:
    text = "-- name: a\nSELECT 1;\n\n-- name: b\nSELECT 2\n  FROM t;\n"
    assert parse_blocks(text) == {"a": "SELECT 1", "b": "SELECT 2\n  FROM t"}


def test_duplicate_block_names_are_rejected() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        parse_blocks("-- name: a\nSELECT 1;\n-- name: a\nSELECT 2;")


def test_includes_are_replaced_by_the_named_block() -> None:
    text = "-- name: cols\nSELECT a, b FROM t\n-- name: one\n/*= cols */\nWHERE a = 1;"
    blocks = parse_blocks(text)
    assert resolve_includes(blocks)["one"] == "SELECT a, b FROM t\nWHERE a = 1"
    with pytest.raises(ValueError, match="no plain SQL block"):
        resolve_includes(parse_blocks("-- name: one\n/*= missing */"))
    with pytest.raises(ValueError, match="no plain SQL block"):  # one level only
        resolve_includes(parse_blocks("-- name: a\n/*= b */\n-- name: b\n/*= a */"))


def test_shipped_blocks_include_only_what_exists() -> None:
    assert not [name for name, sql in _all().items() if "/*=" in sql]


def test_migrations_are_numbered_in_order() -> None:
    migs = discover()
    versions = [m.version for m in migs]
    # Contiguous from 0001: a gap or a repeat means two changes picked the same number.
    assert versions == list(range(1, len(versions) + 1))
    assert migs[0].transactional


def test_no_transaction_marker_and_split() -> None:
    concurrent = [m for m in discover() if not m.transactional]
    assert concurrent, "the CONCURRENTLY index migration declares no-transaction"
    stmts = split_statements(concurrent[0].sql)
    assert all("CONCURRENTLY" in s for s in stmts)
    assert split_statements("-- c\nSELECT 1;\nSELECT 2;\n") == ["SELECT 1", "SELECT 2"]
