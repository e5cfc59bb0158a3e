"""The load's terminal progress: rows, rows/s and ETA per file on a TTY, quiet otherwise."""

from __future__ import annotations

import io
from pathlib import Path

from db.acra import Progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "ACRAInformationonCorporateEntitiesQ.csv"
    path.write_bytes(b"x" * 4_000)
    return path


def test_a_terminal_shows_rows_rate_and_eta_per_file(tmp_path: Path) -> None:
    out = _Terminal()
    progress = Progress(_file(tmp_path), stream=out)
    progress.chunk(1_000, 250)
    progress.phase("building 6 indexes")
    progress.done(1_000)
    text = out.getvalue()
    first = text.split("\r\x1b[K")[1]
    assert first.startswith("ACRAInformationonCorporateEntitiesQ.csv: 250 rows, ")
    assert "rows/s, 25 %, ETA " in first and first.endswith(" s")
    assert "250 rows sent; building 6 indexes" in text
    assert "1,000 rows in " in text and text.endswith(" s\n")


def test_not_a_terminal_prints_nothing(tmp_path: Path) -> None:
    out = io.StringIO()
    progress = Progress(_file(tmp_path), stream=out)
    progress.chunk(1_000, 250)
    progress.phase("publishing")
    progress.done(250)
    assert out.getvalue() == ""
