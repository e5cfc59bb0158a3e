"""Singapore postal districts and areas (shipped reference data, read once per process).

``db/data/postal/`` holds the 28 URA postal districts with their 2-digit postal sectors
(``postal_districts.csv``), the area name the chat shows for each sector
(``postal_sectors.csv``) and the place names a salesperson uses, each with the sectors it
covers (``area_aliases.csv``: planning areas, estates and aliases such as CBD). A company's
sector is the first two digits of its 6-digit postal code. No table holds them: the chat
filters by ``left(postal_code, 2)``.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

DATA = "data/postal"
_DISTRICT = re.compile(r"^(?:postal\s+)?(?:district|d)\s*0?(?P<n>[0-9]{1,2})$")
_POSTAL = re.compile(r"(?<![0-9])([0-9]{6})\s*$")


@dataclass(frozen=True)
class Postal:
    """The reference: districts, each sector's district and area, and place names."""

    districts: dict[str, tuple[str, ...]]
    """District number ("01".."28") -> its sectors."""
    locations: dict[str, str]
    """District number -> URA's general location."""
    sector_district: dict[str, str]
    """Sector -> district number."""
    sector_area: dict[str, str]
    """Sector -> the area name the chat shows."""
    places: dict[str, tuple[str, ...]]
    """Lowercase place name -> sectors."""


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("db").joinpath(f"{DATA}/{name}").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@lru_cache(maxsize=1)
def postal() -> Postal:
    """Return the postal reference (read once; a bad file raises naming the row)."""
    districts = {r["district"]: tuple(r["sectors"].split()) for r in _rows("postal_districts.csv")}
    locations = {r["district"]: r["general_location"] for r in _rows("postal_districts.csv")}
    sector_district = {s: d for d, sectors in districts.items() for s in sectors}
    sector_area = {r["sector"]: r["area"] for r in _rows("postal_sectors.csv")}
    places: dict[str, tuple[str, ...]] = {}
    for r in _rows("area_aliases.csv"):
        sectors = tuple(r["sectors"].split())
        unknown = [s for s in sectors if s not in sector_district]
        if unknown:
            raise ValueError(f"area_aliases.csv: {r['alias']!r} names unknown sectors {unknown}")
        places[r["alias"].strip().lower()] = sectors
    return Postal(districts, locations, sector_district, sector_area, places)


@lru_cache(maxsize=1)
def place_names() -> tuple[str, ...]:
    """Return every place name the chat understands, longest first (for matching)."""
    return tuple(sorted(postal().places, key=lambda p: (-len(p), p)))


def place_sectors(name: str) -> tuple[str, ...] | None:
    """Return the sectors of a place name, "district 22"/"D22" or a 2-digit sector."""
    key = " ".join(name.lower().split())
    ref = postal()
    if key in ref.places:
        return ref.places[key]
    m = _DISTRICT.match(key)
    if m:
        return ref.districts.get(f"{int(m.group('n')):02d}")
    if re.fullmatch(r"[0-9]{2}", key) and key in ref.sector_district:
        return (key,)
    return None


def sector_of(postal_code: str | None) -> str | None:
    """Return the 2-digit sector of a 6-digit postal code (or of an address ending in one)."""
    if not postal_code:
        return None
    m = _POSTAL.search(postal_code)
    return m.group(1)[:2] if m else None


def area_of(postal_code: str | None) -> str | None:
    """Return the area name of a postal code ("Jurong East" for 609601), None if unknown."""
    sector = sector_of(postal_code)
    return postal().sector_area.get(sector) if sector else None


def describe_sectors(sectors: tuple[str, ...] | list[str]) -> str:
    """Return sectors as people read them: "postal sector 52", "postal sectors 60-64",
    "postal sectors 40-52, 81" (runs of consecutive sectors as ranges)."""
    ordered = sorted(set(sectors))
    if len(ordered) == 1:
        return f"postal sector {ordered[0]}"
    runs: list[list[str]] = []
    for s in ordered:
        if runs and int(s) == int(runs[-1][-1]) + 1:
            runs[-1].append(s)
        else:
            runs.append([s])
    parts = [r[0] if len(r) == 1 else f"{r[0]}\u2013{r[-1]}" for r in runs]
    return "postal sectors " + ", ".join(parts)
