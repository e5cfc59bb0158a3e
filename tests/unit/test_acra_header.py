"""The ACRA loader rejects files that are not ACRA corporate-entity extracts."""

from __future__ import annotations

from pathlib import Path

import pytest

from db.acra import COLUMNS, LoadError, check_header, physical_line


def test_good_header_passes() -> None:
    check_header(Path("x.csv"), ",".join(COLUMNS) + "\n")
    check_header(Path("x.csv"), "\ufeff" + ",".join(COLUMNS) + "\r\n")


def test_wrong_header_names_line_and_column() -> None:
    cols = list(COLUMNS)
    cols[7] = "status"
    with pytest.raises(LoadError, match=r"x\.csv: line 1, column 8: header has 'status'"):
        check_header(Path("x.csv"), ",".join(cols))


def test_short_header() -> None:
    with pytest.raises(LoadError, match="column 53"):
        check_header(Path("x.csv"), ",".join(COLUMNS[:52]))


def test_physical_line_counts_embedded_newlines(tmp_path: Path) -> None:
    f = tmp_path / "f.csv"
    f.write_text('h1,h2\na,"multi\nline"\nb,c\n')
    assert physical_line(f, 1) == 2
    assert physical_line(f, 2) == 4
