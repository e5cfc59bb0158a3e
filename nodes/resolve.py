"""Resolve industry terms to SSIC 2020 subclass codes over the real hierarchy.

A term is matched against every level's title (``ssic_ref``) and the alphabetical-index
phrases (``ssic_index_phrases``) by English full text: stemmed ("bakeries" is "Bakery"),
with the last word also as a prefix so a search box resolves while the user types
("manufact"). A term with no full-text hit at all is tried as a typo of the nearest title
by trigram similarity ("manufactoring"), with a minimum score so noise ("xyzzy") matches
nothing. When a term names a title, that node's whole subtree is meant: "Manufacturing"
is section C, every subclass in divisions 10-32. Otherwise the best few matches are kept,
so a vague word does not pull in half the registry. A 2-5 digit term is an SSIC code and
resolves to its own subtree.

All terms are resolved in one query (``resolve_ssic_terms`` in ``db/queries/ssic.sql``,
served by the indexes of migrations 0001 and 0003).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from db.queries import q

MAX_TERMS = 10
MAX_TERM_CHARS = 60
# Scores are 0..1: a term that is a title or phrase scores 1; any other full-text hit at
# least 0.5, more the larger the share of the text's words the term covers.
MIN_SCORE = 0.5
# Trigram similarity from which a term without any full-text hit is taken as a typo of the
# nearest title ("manufactoring" is 0.65 from "manufacturing"; "xyzzy" is below 0.1).
TYPO_SCORE = 0.5
# Matched nodes kept per term when no title is near-exact.
MAX_NODES = 5
# A code reached through a broad node is a weaker fit than one named by its own title.
LEVEL_FACTOR = {
    "section": 0.7,
    "division": 0.8,
    "group": 0.85,
    "class": 0.9,
    "subclass": 1.0,
    "phrase": 1.0,
}
PREFIX_MIN_CHARS = 4
# Everyday abbreviations the SSIC vocabulary spells out (whole words only).
ABBREVIATIONS = {
    "it": "information technology",
    "ict": "information and communications",
    "hr": "human resource",
    "f&b": "food and beverage",
    "fnb": "food and beverage",
    "r&d": "research and development",
    "3pl": "third party logistics",
}

_WORD = re.compile(r"[^\W_]+")
_SPACE = re.compile(r"\s+")
_CODE = re.compile(r"[0-9]{2,5}")
_ABBREVIATION = re.compile(
    r"(?<![\w&])(" + "|".join(re.escape(a) for a in ABBREVIATIONS) + r")(?![\w&])"
)


@dataclass(frozen=True)
class CodeHit:
    """One subclass reached by a term, and why."""

    code: str
    """Five-digit SSIC 2020 subclass code (text, leading zeros kept)."""
    title: str
    """The subclass title."""
    term: str
    """The term that reached it."""
    via_code: str
    """The code whose title or phrase matched (e.g. "C" for a section)."""
    via_level: str
    """section, division, group, class, subclass or phrase."""
    via_text: str
    """The matched title or alphabetical-index phrase."""
    weight: float
    """Match strength 0..1: exact > fuzzy, a subclass's own title > a broad section."""


@dataclass(frozen=True)
class TermResolution:
    """What one term matched and the subclasses it reached."""

    term: str
    hits: tuple[CodeHit, ...]
    """Every subclass this term reached, sorted by code."""
    matched: tuple[tuple[str, str, str], ...]
    """(code, level, title or phrase) of the matched nodes, best first."""
    reason: str
    """One line naming the title or phrase that matched."""


@dataclass(frozen=True)
class Resolution:
    """The resolution of all terms of a request."""

    terms: tuple[TermResolution, ...]
    codes: tuple[CodeHit, ...]
    """Union over terms, one hit per code (the strongest), sorted by code."""

    @property
    def code_list(self) -> list[str]:
        """Return the matched subclass codes, sorted."""
        return [h.code for h in self.codes]

    def summary(self) -> list[dict[str, str]]:
        """Return per term what matched and how many subclasses it reached (JSON-able)."""
        out: list[dict[str, str]] = []
        for tr in self.terms:
            code, level, title = tr.matched[0] if tr.matched else ("", "", "")
            out.append(
                {
                    "term": tr.term,
                    "level": level,
                    "code": code,
                    "title": title,
                    "count": str(len(tr.hits)),
                    "reason": tr.reason,
                }
            )
        return out


def display_title(title: str) -> str:
    """Return an SSIC title for reading: the sections' all-caps titles in sentence case."""
    return title.capitalize() if title.isupper() else title


def normalize_term(term: object) -> str:
    """Return a term lowercased, without control characters, whitespace-collapsed, capped."""
    if not isinstance(term, str):
        return ""
    text = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in term)
    return _SPACE.sub(" ", text).strip().lower()[:MAX_TERM_CHARS].strip()


def search_text(term: str) -> str:
    """Return the text a normalized term is searched with: abbreviations spelled out."""
    return _ABBREVIATION.sub(lambda m: ABBREVIATIONS[m.group(1)], term)


def tsquery_text(term: str, weight: str = "") -> str:
    """Return to_tsquery text ANDing the term's words, the last one also as a prefix."""
    words = _WORD.findall(term)
    parts = [f"{w}:{weight}" if weight else w for w in words]
    if words and len(words[-1]) >= PREFIX_MIN_CHARS and not words[-1].isdigit():
        parts[-1] = f"{words[-1]}:*{weight}"
    # Words are letters/digits only, so the text cannot break to_tsquery's syntax.
    return " & ".join(parts)


def _reason(term: str, matched: Sequence[tuple[str, str, str]]) -> str:
    if not matched:
        return "no SSIC title or index phrase matched"
    code, level, text = matched[0]
    if level == "phrase":
        first = f"index phrase '{text}' ({code})"
    elif _CODE.fullmatch(term) and term == code:
        first = f"code of SSIC {level} {code} '{text}'"
    else:
        first = f"title of SSIC {level} {code} '{text}'"
    more = len(matched) - 1
    return first if not more else f"{first} and {more} more match{'es' if more > 1 else ''}"


async def resolve_terms(conn: psycopg.AsyncConnection[Any], terms: Sequence[str]) -> Resolution:
    """Resolve terms to SSIC 2020 subclasses in one query; odd or empty terms match nothing."""
    clean: list[str] = []
    if isinstance(terms, Sequence) and not isinstance(terms, str | bytes):
        for raw in terms:
            term = normalize_term(raw)
            if term and term not in clean:
                clean.append(term)
            if len(clean) >= MAX_TERMS:
                break
    if not clean:
        return Resolution(terms=(), codes=())
    search = [search_text(t) for t in clean]
    params = {
        "terms": search,
        "title_tsqs": [tsquery_text(t, "A") for t in search],
        "phrase_tsqs": [tsquery_text(t) for t in search],
        "min_score": MIN_SCORE,
        "typo_score": TYPO_SCORE,
        "max_nodes": MAX_NODES,
    }
    async with conn.cursor() as cur:
        await cur.execute(q("resolve_ssic_terms"), params)
        rows = await cur.fetchall()

    per_term: list[dict[str, CodeHit]] = [{} for _ in clean]
    matched: list[dict[tuple[str, str, str], None]] = [{} for _ in clean]
    for ord_, via_code, via_level, via_text, score, code, title in rows:
        i = ord_ - 1
        node = (via_code, via_level, via_text)
        matched[i][node] = None
        weight = round(min(1.0, score) * LEVEL_FACTOR.get(via_level, 0.5), 4)
        best = per_term[i].get(code)
        if best is None or weight > best.weight:
            per_term[i][code] = CodeHit(code, title, clean[i], *node, weight=weight)

    resolutions: list[TermResolution] = []
    union: dict[str, CodeHit] = {}
    for i, term in enumerate(clean):
        hits = tuple(sorted(per_term[i].values(), key=lambda h: h.code))
        nodes = tuple(matched[i])
        resolutions.append(TermResolution(term, hits, nodes, _reason(term, nodes)))
        for hit in hits:
            if hit.code not in union or hit.weight > union[hit.code].weight:
                union[hit.code] = hit
    return Resolution(terms=tuple(resolutions), codes=tuple(union[c] for c in sorted(union)))
