"""Load the shipped SSIC 2020 tables into ``ssic_ref`` and ``ssic_index_phrases``.

Run by ``icp db migrate`` after the migrations, under the migration lock. The data
set's checksum is recorded, so re-running is a no-op and a changed file reloads.
"""

from __future__ import annotations

import csv
import hashlib
import io
from importlib import resources

import psycopg

DATA = "data/ssic2020"
DEFINITIONS = "ssic2020_detailed_definitions.csv"
INDEX = "ssic2020_alphabetical_index.csv"
LEVEL_BY_LEN = {2: "division", 3: "group", 4: "class", 5: "subclass"}


def _read(name: str) -> str:
    return resources.files("db").joinpath(f"{DATA}/{name}").read_text(encoding="utf-8")


def _clean(text: str) -> str | None:
    lines = [ln.strip().lstrip("•").strip() for ln in text.splitlines()]
    joined = "; ".join(ln for ln in lines if ln)
    return joined or None


def ssic_rows(text: str) -> list[tuple[str | None, ...]]:
    """Turn the detailed-definitions CSV into ``ssic_ref`` rows with parent links."""
    rows: list[tuple[str | None, ...]] = []
    for rec in csv.DictReader(io.StringIO(text)):
        code, level, section = rec["code"].strip(), rec["level"].strip(), rec["section"].strip()
        if level != "section" and LEVEL_BY_LEN.get(len(code)) != level:
            raise ValueError(f"SSIC code {code!r} does not fit level {level!r}")
        digits = code if level != "section" else ""
        parent = section if level == "division" else (digits[:-1] or None)
        if level == "subclass":
            parent = digits[:4]
        rows.append(
            (
                code,
                level,
                section,
                digits[:2] or None,
                digits[:3] if len(digits) >= 3 else None,
                digits[:4] if len(digits) >= 4 else None,
                parent,
                rec["title"].strip(),
                (rec.get("detailed_definition") or "").strip() or None,
                _clean(rec.get("examples_of_activities") or ""),
            )
        )
    return rows


def load_reference(conn: psycopg.Connection) -> int:
    """Load the SSIC tables if their checksum changed; return rows loaded (0 when current)."""
    definitions, index = _read(DEFINITIONS), _read(INDEX)
    checksum = hashlib.sha256((definitions + "\0" + index).encode()).hexdigest()
    row = conn.execute("SELECT checksum FROM reference_data WHERE name = 'ssic2020'").fetchone()
    if row and row[0] == checksum:
        return 0
    refs = ssic_rows(definitions)
    phrases = [
        (
            r["ssic_code"].strip().zfill(5),
            r["index_description"].strip(),
            r["skills_framework_id"].strip() or None,
        )
        for r in csv.DictReader(io.StringIO(index))
        if r["index_description"].strip()
    ]
    with conn.transaction():
        conn.execute("DELETE FROM ssic_index_phrases")
        conn.execute("DELETE FROM ssic_ref")
        conn.execute("SET CONSTRAINTS ALL DEFERRED")
        with conn.cursor().copy(
            "COPY ssic_ref (code, level, section, division, group_code, class_code, parent_code,"
            " title, definition, examples) FROM STDIN"
        ) as cp:
            for ref in refs:
                cp.write_row(ref)
        with conn.cursor().copy(
            "COPY ssic_index_phrases (code, phrase, skills_framework_id) FROM STDIN"
        ) as cp:
            for phrase in phrases:
                cp.write_row(phrase)
        conn.execute(
            "INSERT INTO reference_data (name, checksum, rows) VALUES ('ssic2020', %s, %s)"
            " ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum,"
            " rows = EXCLUDED.rows, loaded_at = now()",
            (checksum, len(refs)),
        )
        conn.execute("ANALYZE ssic_ref")
        conn.execute("ANALYZE ssic_index_phrases")
    return len(refs) + len(phrases)
