"""Load the shipped SSIC 2020 tables and the search vocabulary.

``ssic_ref`` and ``ssic_index_phrases`` hold the official hierarchy and index;
``ssic_vocabulary`` (``db/vocabulary.py``) every phrase the resolver matches. Run by
``icp db migrate`` after the migrations, under the migration lock. Each data set's
checksum is recorded in ``reference_data`` (the vocabulary's includes
``VOCABULARY_VERSION``, bumped when the way it is built changes), so re-running is a no-op
and a changed file or builder reloads.
"""

from __future__ import annotations

import csv
import hashlib
import io
from importlib import resources

import psycopg

from db.vocabulary import SYNONYMS_FILE, build_vocabulary, known_words

DATA = "data/ssic2020"
DEFINITIONS = f"{DATA}/ssic2020_detailed_definitions.csv"
INDEX = f"{DATA}/ssic2020_alphabetical_index.csv"
GROUPS = f"{DATA}/industry_groups_sample.csv"
SYNONYMS = SYNONYMS_FILE
VOCABULARY_VERSION = "1"
LEVEL_BY_LEN = {2: "division", 3: "group", 4: "class", 5: "subclass"}


def _read(path: str) -> str:
    return resources.files("db").joinpath(path).read_text(encoding="utf-8")


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


def _current(conn: psycopg.Connection, name: str, checksum: str) -> bool:
    row = conn.execute("SELECT checksum FROM reference_data WHERE name = %s", (name,)).fetchone()
    return bool(row and row[0] == checksum)


def _record(conn: psycopg.Connection, name: str, checksum: str, rows: int) -> None:
    conn.execute(
        "INSERT INTO reference_data (name, checksum, rows) VALUES (%s, %s, %s)"
        " ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum,"
        " rows = EXCLUDED.rows, loaded_at = now()",
        (name, checksum, rows),
    )


def load_reference(conn: psycopg.Connection) -> int:
    """Load the SSIC tables and the vocabulary where their checksum changed; return rows loaded."""
    definitions, index = _read(DEFINITIONS), _read(INDEX)
    groups, synonyms = _read(GROUPS), _read(SYNONYMS)
    checksum = hashlib.sha256((definitions + "\0" + index).encode()).hexdigest()
    vocab_checksum = hashlib.sha256(
        "\0".join((VOCABULARY_VERSION, definitions, index, groups, synonyms)).encode()
    ).hexdigest()
    loaded = 0
    if not _current(conn, "ssic2020", checksum):
        loaded += _load_ssic(conn, definitions, index, checksum)
    if not _current(conn, "ssic_vocabulary", vocab_checksum):
        loaded += load_vocabulary(conn, definitions, index, groups, synonyms, vocab_checksum)
    return loaded


def load_vocabulary(
    conn: psycopg.Connection,
    definitions: str,
    index: str,
    groups: str,
    synonyms: str,
    checksum: str,
) -> int:
    """Rebuild ``ssic_vocabulary`` from the data files (one transaction); return its rows.

    Raises ``db.vocabulary.VocabularyError`` naming the file and line of a bad entry
    (e.g. an SSIC code that does not exist); the table is then left as it was.
    """
    records = list(csv.DictReader(io.StringIO(definitions)))
    titles = {rec["code"].strip(): rec["title"].strip() for rec in records}
    sections = {rec["code"].strip(): rec["section"].strip() for rec in records}
    entries = build_vocabulary(titles, sections, index, definitions, groups, synonyms)
    words = sorted(known_words(entries).items())
    with conn.transaction():
        conn.execute("DELETE FROM ssic_vocabulary")
        conn.execute("DELETE FROM ssic_vocabulary_words")
        with conn.cursor().copy(
            "COPY ssic_vocabulary_words (word, base, named) FROM STDIN"
        ) as cp:
            for word, (base, named) in words:
                cp.write_row((word, base, named))
        with conn.cursor().copy(
            "COPY ssic_vocabulary (entry_id, source, phrase, key, squash, n_words, codes,"
            " n_codes, other) FROM STDIN"
        ) as cp:
            for i, e in enumerate(entries, start=1):
                cp.write_row(
                    (
                        i,
                        e.source,
                        e.phrase,
                        e.key,
                        e.squash,
                        e.n_words,
                        list(e.codes),
                        e.n_codes,
                        e.other,
                    )
                )
        _record(conn, "ssic_vocabulary", checksum, len(entries))
        conn.execute("ANALYZE ssic_vocabulary")
        conn.execute("ANALYZE ssic_vocabulary_words")
    return len(entries)


def _load_ssic(conn: psycopg.Connection, definitions: str, index: str, checksum: str) -> int:
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
        _record(conn, "ssic2020", checksum, len(refs))
        conn.execute("ANALYZE ssic_ref")
        conn.execute("ANALYZE ssic_index_phrases")
    return len(refs) + len(phrases)
