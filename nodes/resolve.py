"""Resolve what a user typed to SSIC 2020 subclass codes: the one resolver of the product.

The chat (``nodes/normalize.py``), ``GET /icp/preview`` and ``POST /jobs/staging_upsert``
all call ``understand`` / ``understand_terms``: extract the terms (``nodes/terms.py``),
then match each against the search vocabulary (``db/vocabulary.py``: official titles,
curated synonyms, the sales grouping, the alphabetical index, the definitions).

Per term, the first of these that finds anything decides:

1. the term's full words ("coffee shops", "holding companies"), then its industry words
   without generic nouns ("software" of "software companies"), matched exactly: same key,
   same key without spaces, or the same stemmed words. Among exact matches the most
   authoritative source wins: a too-broad word, then curated synonyms, official titles,
   the sales grouping, the alphabetical index, the definitions. A name means its node's
   whole subtree ("Manufacturing" is section C, 355 subclasses).
2. the unfinished start of a name, while the user types ("manufact").
3. entries that hold all the term's words (full text): scored by source and by how much
   of the entry the term covers; "Other ..." titles and sales-channel phrases ("online
   marketplaces for ...") rank last, and a fuzzy hit never reaches a whole division or
   more than ``MAX_FUZZY_CODES`` subclasses.
4. runs of the term's words matched exactly ("halal bakery" -> "bakery"); the words no
   run covered are reported as not used.
5. typos: a word the vocabulary does not know is read as the one known word close enough
   to it (nearest by trigram distance, then a keyboard-aware edit distance: "resturants"
   is "restaurants", "scores" is not "stores"), and the corrected term is matched again.

A term of only generic words ("services", "companies") or one naming a ``broad``
vocabulary entry is too broad: it resolves to no codes and carries the main groups to
offer instead. A role noun narrows the codes when the match did not use it ("furniture
manufacturers": manufacturing only). A 2-5 digit term is an SSIC code.
"""

from __future__ import annotations

import re
import unicodedata
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import psycopg

from db.queries import q
from db.vocabulary import (
    SOURCES,
    TRIVIAL,
    inflected,
    n_words,
    squash,
    vocabulary_key,
    word_base,
)
from graph.state import Clarification, SetAsidePart
from nodes.terms import Extraction, SetAside, Term, edit_distance, extract, is_generic

MAX_TERMS = 10
MAX_TERM_CHARS = 60
MAX_SPAN_WORDS = 6
MAX_TEXT_HITS = 40
# The longest word read as a typo: the vocabulary's longest is 19 letters
# ("electrocardiographs"), and a typo adds a letter or two.
MAX_TYPO_CHARS = 24
# Nearest known words looked at for each word the vocabulary does not know (typos).
NEAR_K = 6
PREFIX_MIN_CHARS = 4
# The share of a key a user must have typed for its unfinished start to name it.
PREFIX_SHARE = 0.6
# A full-text hit is a guess: it never reaches a whole division, an entry of more
# than MAX_FUZZY_NODE subclasses, or more than MAX_FUZZY_CODES subclasses in all.
MAX_FUZZY_NODE = 10
MAX_FUZZY_CODES = 12
MAX_FUZZY_ENTRIES = 4
# The share of an entry's words a full-text hit must cover to count at all, and the votes
# the winning sense needs: one definition that merely mentions the word ("military
# logistics") is not enough, a title that is mostly the term or two phrases agreeing are.
MIN_COVERAGE = 0.2
MIN_TEXT_VOTES = 0.7
# Weight of a match by its source (feeds the lead score's industry fit).
SOURCE_WEIGHT = {
    "code": 1.0,
    "synonym": 1.0,
    "title": 1.0,
    "group": 0.95,
    "index": 0.95,
    "definition": 0.85,
}
# How much a full-text hit is trusted by source: an official title holding the words is a
# better sense than an incidental index phrase ("law" is not "Law court").
TEXT_TRUST = {"synonym": 1.0, "title": 1.0, "group": 0.9, "index": 0.75, "definition": 0.6}
HOW_WEIGHT = {"exact": 1.0, "prefix": 0.9, "typo": 0.85}
# The sim the candidate query gives an exact match by stemmed words only (vs 1.0 / 0.99 for
# the same key with or without spaces).
LEXEME_MATCH = 0.98
# A code reached through a broad node is a weaker fit than one named by its own title.
LEVEL_FACTOR = {
    "section": 0.7,
    "division": 0.8,
    "group": 0.85,
    "class": 0.9,
    "subclass": 1.0,
}
# What a role noun narrows an industry to: making, wholesale or retail.
ROLE_PREFIXES = {
    "manufacture": tuple(f"{d}" for d in range(10, 33)),
    "wholesale": ("46",),
    "retail": ("47",),
}
# What a term made only of role nouns means.
ROLE_NODES = {"manufacture": "C", "wholesale": "46", "retail": "47"}
# The main groups offered for a too-broad word without a curated list of its own.
DEFAULT_OPTIONS = ("C", "F", "G", "H", "I", "J", "K", "L", "M", "N", "P", "Q", "R", "S")
# Words that make sales-channel phrases ("online marketplaces for ...") a fitting sense.
CHANNEL_WORDS = frozenset(
    "online ecommerce e-commerce internet marketplace marketplaces platform platforms "
    "training courses course vending mail representative".split()
)

_SPACE = re.compile(r"\s+")
_CODE = re.compile(r"[0-9]{2,5}")
_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]{2,}")
_WORD = re.compile(r"[^\W_]+")


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
    """The SSIC node whose subtree holds it (e.g. "C" for a section)."""
    via_level: str
    """That node's level: section, division, group, class or subclass."""
    via_text: str
    """That node's official title."""
    weight: float
    """Match strength 0..1: exact > fuzzy, a subclass's own title > a broad section."""


@dataclass(frozen=True)
class Group:
    """A matched SSIC node: official title and the number of subclasses it brings."""

    code: str
    level: str
    title: str
    count: int


@dataclass(frozen=True)
class TermResolution:
    """What one term matched, the subclasses it reached, and what it did not use."""

    term: str
    """The words that matched ("software", "coffee shops")."""
    hits: tuple[CodeHit, ...]
    """Every subclass this term reached, sorted by code."""
    groups: tuple[Group, ...] = ()
    """The matched SSIC nodes, outermost only, best first."""
    how: str = "none"
    """synonym, title, group, index, definition (exact), prefix, text, typo, code, broad, none."""
    phrase: str = ""
    """The vocabulary phrase that matched ("Bakery", "electricians")."""
    reason: str = "no SSIC title, synonym or index phrase matched"
    """One line naming what matched."""
    unused: tuple[str, ...] = ()
    """Words of the term the match did not use ("halal" of "halal bakery")."""
    options: tuple[Group, ...] = ()
    """For a too-broad term: the main groups to choose from."""
    text: str = ""
    """The words as typed, generic nouns included ("software companies")."""

    @property
    def broad(self) -> bool:
        """Whether the term was too broad to search."""
        return self.how == "broad"

    @property
    def matched(self) -> tuple[tuple[str, str, str], ...]:
        """Return (code, level, official title) of the matched nodes, best first."""
        return tuple((g.code, g.level, g.title) for g in self.groups)


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

    @property
    def broad(self) -> tuple[TermResolution, ...]:
        """Return the terms that were too broad to search."""
        return tuple(t for t in self.terms if t.broad)

    def summary(self) -> list[dict[str, Any]]:
        """Return per term what matched, how, and what was left unused (JSON-able)."""
        out: list[dict[str, Any]] = []
        for tr in self.terms:
            first = tr.groups[0] if tr.groups else Group("", "", "", 0)
            out.append(
                {
                    "term": tr.term,
                    "text": tr.text or tr.term,
                    "how": tr.how,
                    "phrase": tr.phrase,
                    "level": first.level,
                    "code": first.code,
                    "title": first.title,
                    "count": len(tr.hits),
                    "reason": tr.reason,
                    "groups": [_group_json(g) for g in tr.groups],
                    "unused": list(tr.unused),
                    "options": [_group_json(g) for g in tr.options],
                }
            )
        return out


def display_title(title: str) -> str:
    """Return an SSIC title for reading: the sections' all-caps titles in sentence case."""
    return title.capitalize() if title.isupper() else title


@dataclass(frozen=True)
class Understanding:
    """A message (or a list of terms) understood: terms, codes and what was set aside."""

    extraction: Extraction
    resolution: Resolution

    @property
    def terms(self) -> list[str]:
        """Return the industry words of each term as matched ("software")."""
        return [t.term for t in self.resolution.terms if t.term]

    def set_aside(self) -> list[SetAsidePart]:
        """Return what the search did not use: qualifiers, places, generic and unused words.

        Each part names the term it came with as matched ("bakeries" of "halal bakeries").
        """
        matched = {
            t.label: tr.term
            for t, tr in zip(self.extraction.terms, self.resolution.terms, strict=False)
            if tr.term
        }
        items = set_aside_parts(self.extraction)
        for part in items:
            part["term"] = matched.get(part["term"], part["term"])
        for tr in self.resolution.terms:
            items += [SetAsidePart(kind="unused", text=w, term=tr.term) for w in tr.unused]
        return items


def _group_json(g: Group) -> dict[str, Any]:
    return {"code": g.code, "level": g.level, "title": g.title, "count": g.count}


def set_aside_parts(extraction: Extraction) -> list[SetAsidePart]:
    """Return what extraction set aside, in the state's shape."""
    out: list[SetAsidePart] = []
    for s in extraction.set_aside:
        part = SetAsidePart(kind=s.kind, text=s.text, term=s.term)
        if s.op:
            part["op"] = s.op
        if s.value:
            part["value"] = s.value
        out.append(part)
    return out


def normalize_term(term: object) -> str:
    """Return a term lowercased, without control characters, whitespace-collapsed, capped."""
    if not isinstance(term, str):
        return ""
    text = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in term)
    return _SPACE.sub(" ", text).strip().lower()[:MAX_TERM_CHARS].strip()


def tsquery_text(key: str) -> str:
    """Return to_tsquery text ANDing a key's words, the last one also as a prefix."""
    words = _WORD.findall(key)
    parts = list(words)
    if words and len(words[-1]) >= PREFIX_MIN_CHARS and not words[-1].isdigit():
        parts[-1] = f"{words[-1]}:*"
    # Words are letters/digits only, so the text cannot break to_tsquery's syntax.
    return " & ".join(parts)


def typo_allowance(length: int) -> float:
    """Return the typo distance a word of this length may be off by and still be read."""
    if length < 4:
        return 0.0
    if length < 7:
        return 1.0
    if length < 11:
        return 2.0
    return 3.0


# ---------------------------------------------------------------- probes and candidates


@dataclass(frozen=True)
class _Probe:
    ord: int
    pid: int
    kind: str  # full, core, span
    key: str
    words: tuple[int, int]  # the run of the term's full words it covers (start, end)


@dataclass(frozen=True)
class _Row:
    pid: int
    how: str
    sim: float
    entry_id: int
    source: str
    phrase: str
    key: str
    codes: tuple[str, ...]
    other: bool
    n_codes: int

    @property
    def tier(self) -> int:
        return SOURCES.index(self.source)

    @property
    def broad_level(self) -> bool:
        """Whether the entry names a section or a division (a fuzzy hit must not)."""
        return any(len(c) <= 2 for c in self.codes)


@dataclass
class _Choice:
    how: str
    rows: list[_Row] = field(default_factory=list)
    weight: float = 1.0
    unused: tuple[str, ...] = ()
    nodes: list[str] = field(default_factory=list)
    used_full: bool = False
    used: str = ""
    """The words a partial match used ("kedai makan" of "kedai makan halal")."""
    read_as: str = ""
    """The term with its typos corrected, when that is what matched."""

    @property
    def phrase(self) -> str:
        return self.rows[0].phrase if self.rows else ""


def _words(term: Term) -> tuple[list[str], list[bool]]:
    """Return the term's full words (vocabulary keys) and which of them are generic nouns."""
    words = vocabulary_key(term.full).split()
    return words, [is_generic(w) for w in words]


def _probes(ord_: int, term: Term) -> list[_Probe]:
    core = vocabulary_key(term.text)
    full = vocabulary_key(term.full)
    words, generic = _words(term)
    n = len(words)
    out: list[_Probe] = []
    if full and full != core:
        out.append(_Probe(ord_, len(out), "full", full, (0, n)))
    if core:
        out.append(_Probe(ord_, len(out), "core", core, (0, n)))
    seen = {p.key for p in out}
    # Runs of the full words ("kedai makan" in "kedai makan halal"), each holding an
    # industry word: a generic noun alone ("companies") is not a run worth matching.
    for size in range(min(n, MAX_SPAN_WORDS), 0, -1):
        for start in range(0, n - size + 1):
            key = " ".join(words[start : start + size])
            run = words[start : start + size]
            if key in seen or size == n or all(generic[start : start + size]):
                continue
            if run[0] in TRIVIAL or run[-1] in TRIVIAL:
                continue  # "schools for" is "schools"
            seen.add(key)
            out.append(_Probe(ord_, len(out), "span", key, (start, start + size)))
    # A Chinese word holds its parts without spaces: "中餐馆" holds "餐馆".
    for i, word in enumerate(words):
        for run in _CJK_RUN.findall(word):
            for size in range(len(run) - 1, 1, -1):
                for start in range(0, len(run) - size + 1):
                    key = run[start : start + size]
                    if key not in seen:
                        seen.add(key)
                        out.append(_Probe(ord_, len(out), "span", key, (i, i + 1)))
    return out


def _exact_params(probes: Sequence[_Probe]) -> dict[str, Any]:
    return {
        "ords": [p.ord for p in probes],
        "pids": [p.pid for p in probes],
        "keys": [p.key for p in probes],
        "squashes": [squash(p.key) for p in probes],
        "n_words": [n_words(p.key) for p in probes],
    }


def _fuzzy_params(probes: Sequence[_Probe], words: Sequence[str]) -> dict[str, Any]:
    return {
        "ords": [p.ord for p in probes],
        "pids": [p.pid for p in probes],
        "keys": [p.key for p in probes],
        "tsqs": [tsquery_text(p.key) for p in probes],
        "words": list(words),
        "bases": [word_base(w) for w in words],
        "max_text": MAX_TEXT_HITS,
        "near_k": NEAR_K,
    }


def candidate_params(texts: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Return the parameters of ``vocabulary_exact`` and ``vocabulary_fuzzy`` for the terms
    of some messages (every core probe and typo word), e.g. to explain the queries' plans."""
    terms = [t for text in texts for t in extract(text).terms]
    probes = [p for i, t in enumerate(terms, start=1) for p in _probes(i, t)]
    return {
        "vocabulary_exact": _exact_params(probes),
        "vocabulary_fuzzy": _fuzzy_params(
            [p for p in probes if p.kind == "core"], _typo_words(terms)
        ),
    }


def _row(pid: int, how: str, sim: float, rest: Sequence[Any]) -> _Row:
    entry_id, source, phrase, key, codes, other, n_codes = rest
    return _Row(pid, how, float(sim), entry_id, source, phrase, key, tuple(codes), other, n_codes)


_Exact = tuple[dict[int, list[_Row]], str]
_Fuzzy = tuple[dict[int, list[_Row]], dict[str, list[tuple[str, float]]]]
_ANSWERS: OrderedDict[tuple[str, str, str], Any] = OrderedDict()
"""Answers of vocabulary_exact (a misspelled term's second pass) and vocabulary_fuzzy by
(query, reference checksums, parameters), the latest used last."""
ANSWER_CACHE = 2048


def _cached(query: str, checksum: str, params: dict[str, Any]) -> tuple[tuple[str, str, str], Any]:
    key = (query, checksum, repr(sorted(params.items())))
    found = _ANSWERS.get(key) if checksum else None
    if found is not None:
        _ANSWERS.move_to_end(key)
    return key, found


def _remember(key: tuple[str, str, str], answer: Any) -> None:
    if key[1]:
        _ANSWERS[key] = answer
        while len(_ANSWERS) > ANSWER_CACHE:
            _ANSWERS.popitem(last=False)


async def _exact_rows(
    conn: psycopg.AsyncConnection[Any], probes: Sequence[_Probe], checksum: str = ""
) -> _Exact:
    """Return the entries each probe names exactly, and the SSIC reference's checksum
    (with ``checksum``, the checksums an earlier query of the same request read: an answer
    this process already has for them is used)."""
    params = _exact_params(probes)
    key, found = _cached("vocabulary_exact", checksum, params)
    if found is not None:
        return found  # type: ignore[no-any-return]
    out: dict[int, list[_Row]] = {}
    async with conn.cursor() as cur:
        await cur.execute(q("vocabulary_exact"), params)
        for ord_, pid, sim, *rest in await cur.fetchall():
            if ord_ < 0:
                checksum = str(rest[2])
            else:
                out.setdefault(ord_, []).append(_row(pid, "exact", sim, rest))
    _remember((key[0], checksum, key[2]), (out, checksum))
    return out, checksum


async def _fuzzy_rows(
    conn: psycopg.AsyncConnection[Any],
    probes: Sequence[_Probe],
    words: Sequence[str],
    checksum: str = "",
) -> _Fuzzy:
    """Return the prefix and full-text candidates of core probes, and for each typed word
    the vocabulary does not know, its nearest words of names with their similarity.

    A misspelled term takes this query and a second pass of the exact one on top of the
    exact one every term takes; both answers only depend on the vocabulary, so this process
    keeps the latest ones per reference checksums (``checksum``, read by the request's
    first query): the same typo typed again (a search box asks on every pause) costs one
    query, as a well-spelled term does."""
    params = _fuzzy_params(probes, words)
    key, found = _cached("vocabulary_fuzzy", checksum, params)
    if found is not None:
        return found  # type: ignore[no-any-return]
    out: dict[int, list[_Row]] = {}
    near: dict[str, list[tuple[str, float]]] = {}
    async with conn.cursor() as cur:
        await cur.execute(q("vocabulary_fuzzy"), params)
        for ord_, pid, how, sim, *rest in await cur.fetchall():
            if how == "word":
                near.setdefault(rest[2], []).append((rest[3], float(sim)))
            else:
                out.setdefault(ord_, []).append(_row(pid, how, sim, rest))
    _remember(key, (out, near))
    return out, near


def _correction(word: str, near: Sequence[tuple[str, float]]) -> str | None:
    """Return the known word a typed one is a typo of, if exactly one is close enough."""
    allowed = typo_allowance(len(word))
    ranked = sorted((edit_distance(word, n), -sim, n) for n, sim in near if n != word)
    ranked = [r for r in ranked if r[0] <= allowed]
    if not ranked or (len(ranked) > 1 and ranked[0][:2] == ranked[1][:2]):
        return None  # nothing close, or two words equally close: no guess
    return ranked[0][2]


def _typo_words(terms: Sequence[Term]) -> list[str]:
    """Return the words of the terms that could be typos (letters only, 4 to
    MAX_TYPO_CHARS long: a longer run of letters is no word typed wrong, and its trigram
    search reads a large part of the index, a second on a cold cache)."""
    words: dict[str, None] = {}
    for term in terms:
        for w in vocabulary_key(term.full).split():
            if PREFIX_MIN_CHARS <= len(w) <= MAX_TYPO_CHARS and w.isalpha() and w.isascii():
                words[w] = None
    return list(words)


def _corrected(term: Term, fixes: dict[str, str]) -> Term | None:
    """Return the term with its typos corrected (None when none of its words has one)."""
    full = vocabulary_key(term.full).split()
    if not any(w in fixes for w in full):
        return None
    text = " ".join(fixes.get(w, w) for w in vocabulary_key(term.text).split())
    return replace(term, text=text, full=" ".join(fixes.get(w, w) for w in full))


# ---------------------------------------------------------------- choosing a sense


def _best_tier(rows: list[_Row]) -> list[_Row]:
    """Return the rows of the most authoritative source; of those, the closest matches."""
    top = min(r.tier for r in rows)
    tier = [r for r in rows if r.tier == top]
    closest = max(r.sim for r in tier)
    return [r for r in tier if r.sim >= min(closest, 0.99)]


def _display_first(top: list[_Row], hits: list[_Row]) -> list[_Row]:
    """Order the chosen rows for display: the term's own words first, a title if it says so.

    "manufacturing" is found as the synonym "manufacturer" and as the title
    "MANUFACTURING" with the same codes: the reply names the title.
    """
    codes = {c for r in top for c in r.codes}
    named = [r for r in hits if r.sim == 1.0 and set(r.codes) == codes]
    named.sort(key=lambda r: r.tier)
    rest = sorted(top, key=lambda r: (-r.sim, r.entry_id))
    return ([named[0]] if named else []) + [r for r in rest if not named or r is not named[0]]


def _exact(rows: list[_Row], probe: _Probe, channel: bool = False) -> list[_Row]:
    """Return a probe's exact matches; sales-channel phrases only when the term asks for one."""
    return [
        r
        for r in rows
        if r.pid == probe.pid
        and r.how == "exact"
        and (channel or not r.other or r.source == "title")
        and (r.sim > LEXEME_MATCH or inflected(probe.key, r.key))
    ]


def _channel(term: Term) -> bool:
    return bool(CHANNEL_WORDS & set(vocabulary_key(term.full).split()))


def _text_choice(term: Term, rows: list[_Row]) -> _Choice | None:
    """Pick the sense the entries holding all the term's words agree on.

    Each hit votes for its codes with its source's trust times how much of it the term
    covers; the codes with the most votes win. So "logistics" means freight transport
    arrangement (two index phrases agree), not the one definition that says "military
    logistics".
    """
    channel = _channel(term)
    if not any(len(w) >= PREFIX_MIN_CHARS or _CJK_RUN.search(w) for w in term.text.split()):
        return None  # "bak" is a fragment of too many words to be read by them
    votes: dict[tuple[str, ...], float] = {}
    best_row: dict[tuple[str, ...], _Row] = {}
    for r in rows:
        if r.how != "text" or (r.other and not channel) or r.broad_level:
            continue
        coverage = min(1.0, r.sim)
        if coverage < MIN_COVERAGE or r.n_codes > MAX_FUZZY_NODE:
            continue
        penalty = 0.85 if r.other else 1.0
        score = TEXT_TRUST[r.source] * (0.5 + 0.5 * coverage) * penalty
        votes[r.codes] = votes.get(r.codes, 0.0) + score
        seen = best_row.get(r.codes)
        if seen is None or (r.tier, -r.sim) < (seen.tier, -seen.sim):
            best_row[r.codes] = r
    if not votes:
        return None
    ranked = sorted(votes, key=lambda c: (-votes[c], best_row[c].tier, best_row[c].n_codes, c))
    top = votes[ranked[0]]
    if top < MIN_TEXT_VOTES:
        return None
    chosen: list[_Row] = []
    codes = 0
    for key in ranked:
        r = best_row[key]
        if votes[key] < top * 0.6 or len(chosen) >= MAX_FUZZY_ENTRIES:
            break
        if chosen and codes + r.n_codes > MAX_FUZZY_CODES:
            continue
        chosen.append(r)
        codes += r.n_codes
    return _Choice("text", chosen, weight=round(min(top, 1.0) * 0.8, 4))


def _left_out(probe: _Probe, words: list[str], generic: list[bool]) -> tuple[str, ...]:
    """Return the industry words of a term a partial match did not cover."""
    return tuple(
        w
        for i, w in enumerate(words)
        if not generic[i] and not probe.words[0] <= i < probe.words[1]
    )


WORKER_ENDINGS = ("ers", "ists", "ians")
"""Plural nouns for the people who do a trade ("photographers", "florists", "beauticians")."""


def _names_workers(probe: _Probe, words: list[str], generic: list[bool]) -> bool:
    """Whether ``probe`` ends at the term's last industry word, a noun for people at work."""
    end = probe.words[1]
    last = max((i for i, g in enumerate(generic) if not g), default=-1)
    return end == last + 1 and words[end - 1].lower().endswith(WORKER_ENDINGS)


def _span_choice(
    probes: list[_Probe], rows: list[_Row], words: list[str], generic: list[bool], channel: bool
) -> _Choice | None:
    spans: list[tuple[_Probe, list[_Row]]] = []
    for p in probes:
        if p.kind != "span":
            continue
        hits = [r for r in _exact(rows, p, channel) if r.source != "broad"]
        if hits:
            spans.append((p, _best_tier(hits)))
    if not spans:
        return None
    # Longest runs first (for Chinese, the longest part of a word), then the best source.
    spans.sort(
        key=lambda s: (
            -(s[0].words[1] - s[0].words[0]),
            -len(s[0].key),
            s[1][0].tier,
            s[0].words[0],
        )
    )
    taken: set[int] = set()
    cover: list[tuple[_Probe, list[_Row]]] = []
    for p, hits in spans:
        covered = set(range(*p.words))
        if not covered & taken:
            taken |= covered
            cover.append((p, hits))
    # One term is one industry: of several runs ("seafood" + "restaurants", "KTV" +
    # "lounges") the most specific one is meant, the others' words are reported unused.
    probe, hits = min(
        cover,
        key=lambda s: (
            sum(r.n_codes for r in s[1]),
            -(s[0].words[1] - s[0].words[0]),
            # A tie: the modifier ("KTV lounges" are KTVs), unless the last run names the
            # people who do the work ("wedding photographers" are photographers).
            0 if _names_workers(s[0], words, generic) else 1,
            s[0].words[0],
        ),
    )
    unused = _left_out(probe, words, generic)
    return _Choice("span", hits, weight=0.9, unused=unused, used=probe.key)


def _prefix_rows(rows: list[_Row]) -> list[_Row]:
    """Return the keys the term is the unfinished start of ("manufact" of "manufacturing").

    Most of a key typed is enough; a shorter start ("manuf") only when every one-word key
    it starts means the same codes.
    """
    prefix = [r for r in rows if r.how == "prefix"]
    strong = [r for r in prefix if r.sim >= PREFIX_SHARE]
    if strong or not prefix:
        return strong
    top = min(r.tier for r in prefix)
    weak = [r for r in prefix if r.tier == top]
    return weak if len({frozenset(r.codes) for r in weak}) == 1 else []


def _choose(term: Term, probes: list[_Probe], rows: list[_Row]) -> _Choice:
    """Pick the sense of one term from its candidates (the order in the module docstring)."""
    words, generic = _words(term)
    channel = _channel(term)
    named = {
        p.kind: hits
        for p in probes
        if p.kind in ("full", "core") and (hits := _exact(rows, p, channel))
    }
    for kind in ("full", "core"):
        if kind in named:
            hits = named[kind]
            top = _best_tier(hits)
            if top[0].source == "broad":
                return _Choice("broad", top)
            # "software companies" means what "software" means: the industry words name it.
            core = _best_tier(named["core"]) if "core" in named else []
            same = {c for r in core for c in r.codes} == {c for r in top for c in r.codes}
            used_full = kind == "full" and not same
            return _Choice("exact", _display_first(top, hits), used_full=used_full)
    if not term.text:
        # Only role nouns ("OEM manufacturers", "wholesalers and distributors"): the role.
        return _Choice("role", nodes=[ROLE_NODES[term.role]]) if term.role else _Choice("broad")
    prefix = _prefix_rows(rows)
    if prefix:
        top = _best_tier(prefix)
        longest = max(r.sim for r in top)
        return _Choice("prefix", [r for r in top if r.sim == longest], weight=HOW_WEIGHT["prefix"])
    choice = _text_choice(term, rows) or _span_choice(probes, rows, words, generic, channel)
    return choice or _Choice("none", unused=(term.text,))


# ---------------------------------------------------------------- resolution


@dataclass(frozen=True)
class _Node:
    code: str
    level: str
    title: str
    subclasses: tuple[tuple[str, str], ...]
    """The code and title of each subclass in this node's subtree."""

    @cached_property
    def codes(self) -> tuple[str, ...]:
        """The codes of the subclasses."""
        return tuple(c for c, _ in self.subclasses)


_TREE: dict[str, dict[str, _Node]] = {}
"""The SSIC hierarchy per reference checksum (one entry: the current one)."""


async def _tree(conn: psycopg.AsyncConnection[Any], checksum: str) -> dict[str, _Node]:
    """Return every SSIC node with its subclasses, from this process's copy when current.

    The hierarchy only changes when ``icp db migrate`` loads a new SSIC edition, which
    changes the checksum ``vocabulary_exact`` reports; then it is read again.
    """
    tree = _TREE.get(checksum)
    if tree is not None and checksum:
        return tree
    async with conn.cursor() as cur:
        await cur.execute(q("ssic_tree"))
        rows = await cur.fetchall()
    levels: dict[str, tuple[str, str]] = {}
    below: dict[str, list[tuple[str, str]]] = {}
    for code, level, title, section, division, group, klass in rows:
        levels[code] = (level, title)
        if level == "subclass":
            for node in (section, division, group, klass, code):
                below.setdefault(node, []).append((code, title))
    tree = {
        code: _Node(code, level, title, tuple(below.get(code, [])))
        for code, (level, title) in levels.items()
    }
    _TREE.clear()
    _TREE[checksum] = tree
    return tree


_DEPTH = {"section": 0, "division": 1, "group": 2, "class": 3, "subclass": 4}


def _outermost(codes: Sequence[str], tree: dict[str, _Node]) -> list[_Node]:
    """Return the nodes not inside another of them, in the order given."""
    nodes = [tree[c] for c in dict.fromkeys(codes) if c in tree]

    def inside(n: _Node, m: _Node) -> bool:
        if m is n or not set(n.codes) <= set(m.codes):
            return False
        return (len(m.codes), -_DEPTH[m.level], m.code) > (len(n.codes), -_DEPTH[n.level], n.code)

    return [n for n in nodes if not any(inside(n, m) for m in nodes)]


def _narrow(nodes: list[_Node], role: str) -> list[_Node]:
    """Keep the subclasses a role noun names ("manufacturers": divisions 10-32), if any."""
    prefixes = ROLE_PREFIXES.get(role)
    if not prefixes:
        return nodes
    narrowed = []
    for n in nodes:
        keep = tuple((c, t) for c, t in n.subclasses if c.startswith(prefixes))
        if keep:
            narrowed.append(_Node(n.code, n.level, n.title, keep))
    return narrowed or nodes


def _title(text: str) -> str:
    return text.capitalize() if text.isupper() else text


def _reason(choice: _Choice, groups: Sequence[Group], term: str) -> str:
    if choice.how == "broad":
        return "too broad to search: choose one of the main groups"
    if not groups:
        return "no SSIC title, synonym or index phrase matched"
    first = groups[0]
    node = f"SSIC {first.level} {first.code} '{first.title}'"
    if choice.how == "code":
        what = f"code of {node}"
    elif choice.how == "role":
        what = f"what '{term}' make or trade: {node}"

    elif choice.how == "prefix":
        what = f"start of '{choice.phrase}' ({node})"
    else:
        source = choice.rows[0].source if choice.rows else "title"
        label = {
            "synonym": "synonym",
            "title": "title",
            "group": "sales group",
            "index": "index phrase",
            "definition": "SSIC definition",
        }[source]
        what = (
            f"title of {node}"
            if source == "title" and choice.how != "text"
            else f"{label} '{choice.phrase}' ({node})"
        )
        if choice.how == "text":
            what = f"words of {what}"
    if choice.read_as:
        what = f"read as '{choice.read_as}': {what}"
    more = len(groups) - 1
    return what if not more else f"{what} and {more} more group{'s' if more > 1 else ''}"


def _left(choice: _Choice, term: Term) -> int:
    """Return how many of a term's industry words a choice leaves unused (all if none)."""
    if choice.how in ("none", "broad"):
        return len(vocabulary_key(term.text).split()) + 1
    return len(choice.unused)


_SETTLED = ("exact", "broad", "role")


async def _choose_all(
    conn: psycopg.AsyncConnection[Any], terms: dict[int, Term], typos: bool, checksum: str = ""
) -> tuple[dict[int, _Choice], dict[str, list[tuple[str, float]]], str]:
    """Choose the sense of each term; return the choices, the typo suggestions and the
    SSIC reference checksum.

    One query finds the exact matches of every term; only terms that none names (a typo,
    a partial name) take a second query for their fuzzy candidates.
    """
    probes = {i: _probes(i, term) for i, term in terms.items()}
    rows, checksum = await _exact_rows(conn, [p for ps in probes.values() for p in ps], checksum)
    choices = {i: _choose(term, probes[i], rows.get(i, [])) for i, term in terms.items()}
    pending = {i: t for i, t in terms.items() if choices[i].how not in _SETTLED}
    near: dict[str, list[tuple[str, float]]] = {}
    if pending:
        core = [p for i in pending for p in probes[i] if p.kind == "core"]
        words = _typo_words(list(pending.values())) if typos else []
        fuzzy, near = await _fuzzy_rows(conn, core, words, checksum) if core or words else ({}, {})
        for i, term in pending.items():
            choices[i] = _choose(term, probes[i], [*rows.get(i, []), *fuzzy.get(i, [])])
    for choice in choices.values():
        if choice.how == "broad":
            choice.nodes = [c for r in choice.rows for c in r.codes] or list(DEFAULT_OPTIONS)
        elif choice.rows:
            choice.nodes = [c for r in choice.rows for c in r.codes]
    return choices, near, checksum


def _as_term(raw: object) -> Term | None:
    if isinstance(raw, Term):
        return raw
    text = normalize_term(raw)
    return Term(text, text) if text else None


async def resolve_terms(
    conn: psycopg.AsyncConnection[Any], terms: Sequence[Term | str]
) -> Resolution:
    """Resolve terms to SSIC 2020 subclasses (two queries); odd or empty terms match nothing."""
    clean: list[Term] = []
    if isinstance(terms, Sequence) and not isinstance(terms, str | bytes):
        for raw in terms:
            term = _as_term(raw)
            if term and all(t.full != term.full for t in clean):
                clean.append(term)
            if len(clean) >= MAX_TERMS:
                break
    if not clean:
        return Resolution(terms=(), codes=())
    named = {i: t for i, t in enumerate(clean, start=1) if not _CODE.fullmatch(t.text)}
    choices, near, checksum = await _choose_all(conn, named, typos=True)
    # Second pass, only for terms matched partly or not at all whose words hold typos:
    # "sofware developement" is read as "software development" if that matches better.
    fixes = {w: fix for w, ns in near.items() if (fix := _correction(w, ns))}
    retry = {
        i: fixed
        for i, term in named.items()
        if choices[i].how in ("span", "none") and (fixed := _corrected(term, fixes))
    }
    if retry:
        second, _, _ = await _choose_all(conn, retry, typos=False, checksum=checksum)
        for i, choice in second.items():
            if _left(choice, retry[i]) < _left(choices[i], named[i]):
                choice.read_as = retry[i].full
                choices[i] = choice
    for i, term in enumerate(clean, start=1):
        if i not in named:
            choices[i] = _Choice("code", nodes=[term.text])
    tree = await _tree(conn, checksum)

    resolutions: list[TermResolution] = []
    union: dict[str, CodeHit] = {}
    for i, term in enumerate(clean, start=1):
        choice = choices[i]
        if choice.how == "broad":
            offered = tuple(
                Group(n.code, n.level, _title(n.title), len(n.codes))
                for n in (tree[c] for c in dict.fromkeys(choice.nodes) if c in tree)
            )
            resolutions.append(
                TermResolution(
                    term.full,
                    (),
                    how="broad",
                    phrase=term.full,
                    options=offered,
                    reason=_reason(choice, (), term.full),
                    text=term.full,
                )
            )
            continue
        nodes = _outermost(choice.nodes, tree)
        if term.role and not choice.used_full:
            nodes = _narrow(nodes, term.role)
        used = term.full if choice.used_full or not term.text else term.text
        if choice.used and choice.unused:
            used = choice.used
        groups = tuple(Group(n.code, n.level, _title(n.title), len(n.codes)) for n in nodes)
        source = choice.rows[0].source if choice.rows else "code"
        base = SOURCE_WEIGHT.get(source, 1.0) * HOW_WEIGHT.get(choice.how, choice.weight)
        if choice.how in ("text", "span"):
            base = choice.weight if choice.how == "text" else base * choice.weight
        if choice.read_as:
            base *= HOW_WEIGHT["typo"]
        hits: dict[str, CodeHit] = {}
        for n in nodes:
            weight = round(min(1.0, base * LEVEL_FACTOR.get(n.level, 1.0)), 4)
            for code, title in n.subclasses:
                if code not in hits or weight > hits[code].weight:
                    hits[code] = CodeHit(code, title, used, n.code, n.level, n.title, weight)
        how = "typo" if choice.read_as else source if choice.how == "exact" else choice.how
        resolutions.append(
            TermResolution(
                used if groups else term.text,
                tuple(sorted(hits.values(), key=lambda h: h.code)),
                groups,
                how if groups else "none",
                choice.read_as or choice.phrase,
                _reason(choice, groups, used),
                choice.unused if groups else (term.text,),
                text=term.full,
            )
        )
        for hit in hits.values():
            if hit.code not in union or hit.weight > union[hit.code].weight:
                union[hit.code] = hit
    return Resolution(terms=tuple(resolutions), codes=tuple(union[c] for c in sorted(union)))


def clarification(resolution: Resolution) -> Clarification | None:
    """Return the too-broad words and the main groups to offer instead (None if none)."""
    broad = resolution.broad
    if not broad:
        return None
    options: dict[str, Group] = {}
    for tr in broad:
        for g in tr.options:
            options.setdefault(g.code, g)
    return Clarification(
        terms=[t.term for t in broad], options=[_group_json(g) for g in options.values()]
    )


async def understand_extraction(
    conn: psycopg.AsyncConnection[Any], extraction: Extraction
) -> Understanding:
    """Resolve the terms of an extraction (the one path every caller goes through)."""
    return Understanding(extraction, await resolve_terms(conn, list(extraction.terms)))


async def understand(conn: psycopg.AsyncConnection[Any], text: str) -> Understanding:
    """Extract the terms of a message and resolve them (the chat and the preview)."""
    return await understand_extraction(conn, extract(text))


async def understand_terms(
    conn: psycopg.AsyncConnection[Any], phrases: Sequence[str]
) -> Understanding:
    """Understand a list of industry phrases (the job route's ``terms``) the chat's way."""
    terms: list[Term] = []
    set_aside: list[SetAside] = []
    for phrase in phrases:
        one = extract(phrase)
        terms += [t for t in one.terms if all(t.full != s.full for s in terms)]
        set_aside += one.set_aside
    extraction = Extraction(tuple(terms[:MAX_TERMS]), tuple(dict.fromkeys(set_aside)))
    return await understand_extraction(conn, extraction)
