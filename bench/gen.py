"""Seeded generator of realistic ACRA "Information on Corporate Entities" rows.

Every distribution comes from the real sample shipped in ``db/data/acra/`` (24,385 rows):
each generated row draws an entity *profile* (entity type, constitution, company type,
status, officers, registration year, account/annual-return dates) from one real row, an
SSIC block (primary code and description, secondary code) from another, an address from
another, so the joint proportions of the sample hold: 'Live Company'/'Live' status mix,
entity types, officers, 1916-2025 registrations, and the SKEWED primary SSIC
distribution (wholesale, holding companies, IT heavy; manufacturing about 4.8 %). A small
long tail (:data:`TAIL`) draws uniformly from all 1,023 SSIC 2020 subclasses so every
code can appear. UENs are unique by construction in the three real formats
(``201912345K``, ``53123456X``, ``T19LL1234A``); names are built from the sample's words.

Two outputs:

* an ACRA-format CSV (the published 53-column header, ``na`` for missing, primary codes
  that start with 0 written without it, as in the real files): :func:`write_csv`;
* a direct COPY into ``staging_acra_companies`` (codes padded), then the loader's own
  ``REFRESH_COUNTS`` and ``VACUUM ANALYZE``: :func:`load_staging`.

``python -m bench.gen --rows 1000000 --database-url URL [--seed 42] [--csv OUT.csv]``
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import functools
import random
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from db.acra import COLUMNS, REFRESH_COUNTS

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = ROOT / "db" / "data" / "acra"
STRUCTURE_CSV = ROOT / "db" / "data" / "ssic2020" / "ssic2020_structure.csv"

TAIL = 0.01  # share of rows whose primary code is uniform over all SSIC 2020 subclasses
CHUNK_ROWS = 20_000  # rows per generated chunk (one COPY write / one file write)
SOURCE_FILE = "bench-gen"  # staging.source_file of directly loaded rows
HEADER = ",".join(COLUMNS) + "\n"
_LAST_DATE = dt.date(2025, 9, 30)  # the sample's latest registration
_CHECK = "ABCDEFGHJKLMNPQRSTUVWXZ"
_WORD = re.compile(r"^[A-Z0-9&'.\-]+$")
_CONNECTORS = {"&", "AND", "OF", "THE", "-", "."}
_LEGAL = {"PTE", "PTE.", "LTD", "LTD.", "PRIVATE", "LIMITED", "LLP", "LP", "(PTE.)", "(PTE)"}
_SUFFIXES: dict[str, list[tuple[str, int]]] = {
    "local": [
        (" PTE. LTD.", 85),
        (" PTE LTD", 8),
        (" PRIVATE LIMITED", 4),
        (" LTD.", 2),
        (" PTE. LIMITED", 1),
    ],
    "biz": [
        ("", 40),
        (" TRADING", 10),
        (" ENTERPRISE", 10),
        (" SERVICES", 10),
        (" & CO", 5),
        (" ENGINEERING", 5),
        (" CONSULTANCY", 5),
        (" TRADING & SERVICES", 5),
        (" CENTRE", 5),
        (" CONTRACTOR", 5),
    ],
    "LL": [(" LLP", 1)],
    "LP": [(" LP", 1)],
    "FC": [(" (SINGAPORE BRANCH)", 1)],
}
_KIND_BY_TYPE = {
    "Local Company": "local",
    "Sole Proprietorship/ Partnership": "biz",
    "Limited Liability Partnership": "LL",
    "Limited Partnership": "LP",
    "Foreign Company Branch": "FC",
}
_AUDIT_NA = ",".join(["na"] * 10)


def _q(value: str) -> str:
    """Return ``value`` as one CSV field (quoted only when it must be)."""
    if any(ch in value for ch in ',"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value


@dataclass(frozen=True)
class Pools:
    """Everything precomputed from the real sample and the SSIC structure."""

    profiles: list[tuple[str, str, int, str, str]]  # (csv fragment, kind, year, officers, dates)
    ssic: list[tuple[str, str]]  # (padded fragment, as-published fragment), one per sample row
    tail: list[tuple[str, str]]  # same for every SSIC 2020 subclass
    addr_pre: list[str]  # "LOCAL,block,street"
    addr_post: list[str]  # "building,postal,other1,other2"
    level_unit: list[str]  # "level,unit"
    former_counts: list[int]
    first_words: list[str]
    other_words: list[str]
    dates_by_year: dict[int, list[str]]


def _sample_rows() -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for path in sorted(SAMPLE_DIR.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as fh:
            rows.extend(csv.DictReader(fh))
    if not rows:
        raise SystemExit(f"no ACRA sample CSVs in {SAMPLE_DIR}")
    return rows


def _ssic_fragment(code: str, desc: str, second: str, *, published: bool) -> str:
    """Return the six SSIC columns: code, description, activity, secondary code/desc/activity."""
    if code != "na":
        code = code.zfill(5)
        if published and code.startswith("0"):
            code = code[1:]  # the real files drop the leading zero of primary codes
    sdesc = desc if second != "na" else "na"
    return f"{code},{_q(desc)},na,{second},{_q(sdesc)},na"


@functools.cache
def pools() -> Pools:
    """Build the sampling pools from the real ACRA sample and the SSIC 2020 structure."""
    rows = _sample_rows()
    profiles = []
    for r in rows:
        reg = r["registration_incorporation_date"]
        year = int(reg[:4]) if reg != "na" else 2000
        kind = _KIND_BY_TYPE.get(r["entity_type_description"], "FC")
        frag = ",".join(
            _q(r[c])
            for c in (
                "entity_type_description",
                "business_constitution_description",
                "company_type_description",
                "paf_constitution_description",
                "entity_status_description",
            )
        )
        dates = f"{r['account_due_date']},{r['annual_return_date']}"
        profiles.append((frag, kind, year, r["no_of_officers"], dates))

    ssic = []
    for r in rows:
        args = (r["primary_ssic_code"], r["primary_ssic_description"], r["secondary_ssic_code"])
        ssic.append((_ssic_fragment(*args, published=False), _ssic_fragment(*args, published=True)))
    with STRUCTURE_CSV.open(encoding="utf-8", newline="") as fh:
        subclasses = [r["code"] for r in csv.DictReader(fh) if r["level"] == "subclass"]
    tail = [
        (
            _ssic_fragment(c, "na", "na", published=False),
            _ssic_fragment(c, "na", "na", published=True),
        )
        for c in subclasses
    ]

    addr_pre = [f"{_q(r['address_type'])},{_q(r['block'])},{_q(r['street_name'])}" for r in rows]
    addr_post = [
        ",".join(
            _q(r[c])
            for c in ("building_name", "postal_code", "other_address_line1", "other_address_line2")
        )
        for r in rows
    ]
    level_unit = [f"{_q(r['level_no'])},{_q(r['unit_no'])}" for r in rows]
    former_counts = [sum(r[f"former_entity_name{i}"] != "na" for i in range(1, 16)) for r in rows]

    first_words: list[str] = []
    other_words: list[str] = []
    for r in rows:
        words = [w for w in r["entity_name"].upper().split() if _WORD.match(w)]
        words = [w for w in words if w not in _LEGAL]
        # Each real extract holds one initial letter, so first words come from every position.
        first_words.extend(w for w in words if w not in _CONNECTORS and w[0].isalpha())
        other_words.extend(w for w in words[1:] if w not in _CONNECTORS)

    years = {p[2] for p in profiles}
    dates_by_year = {}
    for y in years:
        start, end = dt.date(y, 1, 1), min(dt.date(y, 12, 31), _LAST_DATE)
        dates_by_year[y] = [
            dt.date.fromordinal(o).isoformat()
            for o in range(start.toordinal(), end.toordinal() + 1)
        ]
    return Pools(
        profiles,
        ssic,
        tail,
        addr_pre,
        addr_post,
        level_unit,
        former_counts,
        first_words,
        other_words or first_words,
        dates_by_year,
    )


class UenAllocator:
    """Hands out unique UENs in the real formats; unique by construction, not by lookup."""

    def __init__(self) -> None:
        """Start every namespace empty."""
        self.local: dict[int, int] = {}  # year -> last 5-digit serial
        self.other: dict[tuple[str, int, str], int] = {}  # (prefix, yy, type) -> last serial
        self.biz_recent = 0
        self.biz_old = 0

    def __call__(self, kind: str, year: int) -> str:
        """Return a new UEN for an entity of ``kind`` registered in ``year``."""
        if kind == "local":  # YYYYNNNNNX: registration year + 5-digit serial + check letter
            y = year
            while self.local.get(y, 0) >= 99_999:
                y -= 1  # the year is full: borrow an earlier year's serials
            n = self.local[y] = self.local.get(y, 0) + 1
            return f"{y}{n:05d}{_CHECK[(n * 7 + y) % 23]}"
        if kind == "biz":  # NNNNNNNNX: 8 digits + check letter (5x... since 2000)
            if year >= 2000:
                self.biz_recent += 1
                n = 53_000_000 + self.biz_recent
            else:
                self.biz_old += 1
                n = 100_000 + self.biz_old * 11
            if n > 99_999_999 or (year < 2000 and n >= 53_000_000):
                raise OverflowError("too many business UENs for the 9-character format")
            return f"{n:08d}{_CHECK[n % 23]}"
        # TyyPQNNNNX: T (20xx) / S (19xx) / R (18xx), 2-digit year, entity type, serial
        yy, century = year % 100, year // 100
        while True:
            prefix = {20: "T", 19: "S"}.get(century, "R")
            key = (prefix, yy, kind)
            if self.other.get(key, 0) < 9_999:
                break
            yy -= 1  # the year is full: borrow an earlier year's serials
            if yy < 0:
                yy, century = 99, century - 1
        n = self.other[key] = self.other.get(key, 0) + 1
        return f"{prefix}{yy:02d}{kind}{n:04d}{_CHECK[(n + yy) % 23]}"


def generate(rows: int, *, seed: int = 42, published: bool = True) -> Iterator[str]:
    """Yield chunks of CSV lines (no header) for ``rows`` rows; the same seed gives the same rows.

    ``published=True`` writes primary SSIC codes as ACRA publishes them (leading zero lost);
    ``False`` pads them, as staging stores them. Both give the same rows otherwise.
    """
    p = pools()
    rng = random.Random(seed)
    rnd = rng.random
    uen = UenAllocator()
    col = 1 if published else 0
    profiles, nprof = p.profiles, len(p.profiles)
    ssic = [s[col] for s in p.ssic]
    tail = [s[col] for s in p.tail]
    nssic, ntail = len(ssic), len(tail)
    addr_pre, addr_post, naddr = p.addr_pre, p.addr_post, len(p.addr_pre)
    level_unit, nlu = p.level_unit, len(p.level_unit)
    former_counts, nformer = p.former_counts, len(p.former_counts)
    first, nfirst = p.first_words, len(p.first_words)
    other, nother = p.other_words, len(p.other_words)
    dates_by_year = p.dates_by_year
    suffixes = {k: [s for s, w in v for _ in range(w)] for k, v in _SUFFIXES.items()}
    no_former = ",".join(["na"] * 15)

    def name(kind: str) -> str:
        words = first[int(rnd() * nfirst)] + " " + other[int(rnd() * nother)]
        if rnd() < 0.3:
            words += " " + other[int(rnd() * nother)]
        sfx = suffixes[kind]
        return words + sfx[int(rnd() * len(sfx))]

    done = 0
    while done < rows:
        n = min(CHUNK_ROWS, rows - done)
        out = []
        for _ in range(n):
            frag, kind, year, officers, acct_ar = profiles[int(rnd() * nprof)]
            days = dates_by_year[year]
            reg = days[int(rnd() * len(days))]
            if rnd() < TAIL:
                codes = tail[int(rnd() * ntail)]
            else:
                codes = ssic[int(rnd() * nssic)]
            a = int(rnd() * naddr)
            nf = former_counts[int(rnd() * nformer)]
            if nf:
                former = ",".join([name(kind) for _ in range(nf)] + ["na"] * (15 - nf))
            else:
                former = no_former
            out.append(
                f"{uen(kind, year)},ACRA,{name(kind)},{frag},{reg},{reg},{addr_pre[a]},"
                f"{level_unit[int(rnd() * nlu)]},{addr_post[a]},{acct_ar},{codes},{officers},"
                f"{former},{_AUDIT_NA}\n"
            )
        done += n
        yield "".join(out)


def write_csv(path: Path, rows: int, *, seed: int = 42) -> Path:
    """Write an ACRA-format CSV with the published header and ``rows`` generated rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        fh.write(HEADER)
        for chunk in generate(rows, seed=seed, published=True):
            fh.write(chunk)
    tmp.replace(path)
    return path


def load_staging(url: str, rows: int, *, seed: int = 42) -> int:
    """Replace ``staging_acra_companies`` with ``rows`` generated rows; refresh counts, VACUUM.

    Uses COPY (CSV, ``na`` as NULL, ``FREEZE`` after a TRUNCATE in the same transaction),
    then the loader's ``REFRESH_COUNTS`` and ``VACUUM ANALYZE``. Returns the rows in staging.
    """
    cols = sql.SQL(", ").join(map(sql.Identifier, (*COLUMNS, "source_file")))
    copy = sql.SQL(
        "COPY staging_acra_companies ({}) FROM STDIN WITH (FORMAT csv, NULL 'na', FREEZE)"
    ).format(cols)
    tag = "," + SOURCE_FILE + "\n"
    with psycopg.connect(url, autocommit=True) as conn:
        with conn.transaction():
            conn.execute("TRUNCATE staging_acra_companies")
            with conn.cursor().copy(copy) as cp:
                for chunk in generate(rows, seed=seed, published=False):
                    cp.write(chunk.replace("\n", tag).encode())
            conn.execute(REFRESH_COUNTS)
        conn.execute("VACUUM ANALYZE staging_acra_companies")
        conn.execute("VACUUM ANALYZE staging_ssic_counts")
        conn.execute("VACUUM ANALYZE staging_ssic_pair_counts")
        row = conn.execute("SELECT count(*) FROM staging_acra_companies").fetchone()
    return int(row[0]) if row else 0


def main(argv: list[str] | None = None) -> int:
    """Command line: generate rows into a CSV and/or straight into a database's staging."""
    ap = argparse.ArgumentParser(prog="python -m bench.gen", description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--database-url", help="load into this (migrated) database's staging")
    ap.add_argument("--csv", type=Path, help="write an ACRA-format CSV here")
    args = ap.parse_args(argv)
    if not args.database_url and not args.csv:
        ap.error("give --database-url and/or --csv")
    if args.csv:
        t0 = time.perf_counter()
        write_csv(args.csv, args.rows, seed=args.seed)
        size = args.csv.stat().st_size / 2**20
        print(
            f"wrote {args.rows:,} rows ({size:,.0f} MiB) to {args.csv} "
            f"in {time.perf_counter() - t0:.1f} s"
        )
    if args.database_url:
        from db.migrate import migrate
        from db.reference import load_reference

        migrate(args.database_url, after=load_reference)
        t0 = time.perf_counter()
        n = load_staging(args.database_url, args.rows, seed=args.seed)
        print(
            f"loaded {n:,} rows into staging_acra_companies in {time.perf_counter() - t0:.1f} s"
            " (COPY + counts refresh + VACUUM ANALYZE)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
