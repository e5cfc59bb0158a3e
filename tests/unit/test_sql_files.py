"""Named SQL blocks and migration files parse as the loaders expect."""

from __future__ import annotations

import pytest

from db.migrate import discover, split_statements
from db.queries import parse_blocks


def test_parse_blocks() -> None:
    text = "-- name: a\nSELECT 1;\n\n-- name: b\nSELECT 2\n  FROM t;\n"
    assert parse_blocks(text) == {"a": "SELECT 1", "b": "SELECT 2\n  FROM t"}


def test_duplicate_block_names_are_rejected() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        parse_blocks("-- name: a\nSELECT 1;\n-- name: a\nSELECT 2;")


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
