"""The registry loader's chunk check: what the typed COPY may take, and what it gets."""

from __future__ import annotations

from pathlib import Path

import pytest

from db.acra_copy import NotFastPath, check_chunk, chunks


def _row(**cells: str) -> bytes:
    """One 53-field ACRA record with the checked fields set (others plain text)."""
    fields = ["x"] * 53
    fields[:3] = ["201912345K", "ACRA", "ACME PTE. LTD."]
    fields[8:10] = ["2019-02-03", "2019-02-03"]
    fields[19:22] = ["na", "2020-12-31", "46900"]
    fields[24], fields[27] = "na", "3"
    names = {"uen": 0, "name": 2, "date": 8, "due": 19, "code": 21, "code2": 24, "officers": 27}
    for key, value in cells.items():
        fields[names[key]] = value
    return (",".join(fields) + "\n").encode()


@pytest.mark.parametrize(
    "cells",
    [
        {},
        {"date": "na", "due": "", "code": "8900", "code2": "1", "officers": "na"},
        {"name": '"ACME, ""THE"" PTE. LTD."'},
        {"uen": "T19LL1234A", "officers": "000000012"},
    ],
)
def test_records_the_strict_loader_loads_the_same_pass(cells: dict[str, str]) -> None:
    check_chunk(_row(**cells))


@pytest.mark.parametrize(
    "cells",
    [
        {"date": "2019-2-3"},
        {"date": "20190203"},
        {"date": " 2019-02-03"},
        {"date": "0999-01-01"},
        {"date": "infinity"},
        {"date": '"2019-02-03"'},
        {"code": "123456"},
        {"code": " 4710"},
        {"code2": "4710X"},
        {"officers": "+3"},
        {"officers": "1_000"},
        {"uen": "201912345k"},
        {"uen": " 201912345K"},
        {"uen": ""},
        {"name": "   "},
        {"name": ""},
        {"name": '"  "'},
    ],
)
def test_anything_else_goes_to_the_strict_loader(cells: dict[str, str]) -> None:
    with pytest.raises(NotFastPath):
        check_chunk(_row(date="2019-02-03") + _row(**cells))


def test_empty_fields_outside_quotes_become_na() -> None:
    row = _row(due="", code2="").replace(b",x\n", b",\n").replace(b",x,x,", b',"a,,b",,', 1)
    out = check_chunk(row)
    assert b",na,2020-12-31," in out and out.endswith(b",na\n")
    assert b'"a,,b",na,' in out  # ",," inside quotes is data
    assert b",," not in out.replace(b'"a,,b"', b"Q")


def test_short_codes_get_their_leading_zeros_back_in_the_records_that_have_them() -> None:
    plain = _row()
    short = _row(code="130", code2="1")
    out = check_chunk(plain + short + plain + _row(code="8900", code2="na") + plain)
    fixed = [_row(code="00130", code2="00001"), _row(code="08900", code2="na")]
    assert out == plain + fixed[0] + plain + fixed[1] + plain
    assert check_chunk(plain * 3) == plain * 3  # nothing to fix: the chunk itself


def test_crlf_records_and_their_empty_last_fields() -> None:
    row = _row(code="4710").replace(b",x\n", b",\r\n")
    assert check_chunk(row) == _row(code="04710").replace(b",x\n", b",na\r\n")


def test_chunks_end_at_record_boundaries(tmp_path: Path) -> None:
    quoted = _row(name='"MULTI\nLINE, NAME"')
    path = tmp_path / "f.csv"
    path.write_bytes(b"header\n" + (_row() + quoted) * 500)
    parts = list(chunks(path, size=1000))
    assert len(parts) > 10
    assert b"".join(parts) == (_row() + quoted) * 500
    for part in parts:
        assert part.count(b'"') % 2 == 0 and part.endswith(b"\n")
        check_chunk(part)
