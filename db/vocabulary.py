"""The search vocabulary: the phrases a sales user may type for an industry, and their codes.

``icp db migrate`` builds it (``db/reference.py``) into ``ssic_vocabulary`` from the shipped
data, one row per source and matching key:

- ``title``: the official SSIC 2020 title of every level, cleaned of qualifiers ("Legal
  activities (excluding online marketplaces)" -> "legal activities"), and its core without
  generic tails ("legal"). "Other ..." and "... n.e.c." titles keep a marker word, so a
  generic name ("cleaning services") never equals them.
- ``index``: the SSIC alphabetical index ("Bakery" -> 10712). Sales-channel variants
  ("Online marketplaces for ...", "... e-commerce retailer") are flagged ``other``.
- ``definition``: the activities the detailed definitions list under a class or subclass,
  and their cross-references ("development of computer games, see 62012").
- ``group``: the sales grouping ``industry_groups_sample.csv`` (sub-industries and industry
  types, e.g. "Hair Salons & Barbershops" -> 96021).
- ``synonym`` and ``broad``: the curated table ``data/vocabulary/sales_synonyms.csv``
  (professions, abbreviations, Singapore and Chinese/Malay everyday words; ``broad`` rows
  are words too vague to search, pointing at the main groups to offer instead).

``vocabulary_key`` is the one normalization both sides use: the loader for every phrase,
the resolver (``nodes/resolve.py``) for what the user typed.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources

SOURCES = ("broad", "synonym", "title", "group", "index", "definition")
"""Sources in order of authority: an exact match of an earlier one wins over a later one."""

SYNONYM_KINDS = ("synonym", "broad")
SYNONYMS_FILE = "data/vocabulary/sales_synonyms.csv"
_SPACE = re.compile(r"\s+")

# British spellings, as SSIC writes them; users type either.
SPELLING = {
    "center": "centre",
    "centers": "centres",
    "jewelry": "jewellery",
    "jewelries": "jewelleries",
    "jeweler": "jeweller",
    "jewelers": "jewellers",
    "color": "colour",
    "colors": "colours",
    "tire": "tyre",
    "tires": "tyres",
    "catalog": "catalogue",
    "aluminum": "aluminium",
    "labor": "labour",
    "defense": "defence",
    "traveler": "traveller",
    "travelers": "travellers",
    "theater": "theatre",
    "theaters": "theatres",
    "fiber": "fibre",
    "fibers": "fibres",
    "mold": "mould",
    "molds": "moulds",
    "molding": "moulding",
    "liter": "litre",
    "gray": "grey",
    "program": "programme",
    "programs": "programmes",
    "favor": "favour",
    "pediatric": "paediatric",
    "orthopedic": "orthopaedic",
    "esthetic": "aesthetic",
    "esthetics": "aesthetics",
    "aging": "ageing",
    "fueling": "fuelling",
    "modeling": "modelling",
    "counseling": "counselling",
    "counselor": "counsellor",
    "harbor": "harbour",
    "vapor": "vapour",
}
_IZE = re.compile(r"(?<=\w\w\w)iz(ation|ations|ing|ed|er|ers)$")

# Connectives that do not count as words when two phrases are compared by their words.
TRIVIAL = frozenset("of and the a an for in on to with by at from".split())

_PAREN = re.compile(r"\([^()]*\)")
_APOSTROPHE = re.compile(r"['\u2019\u2018`\u00b4]")
_NON_WORD = re.compile(r"[\W_]+")
_NEC = re.compile(r"\bn\.\s?e\.\s?c\.?", re.IGNORECASE)
# Qualifiers cut from a title's end: "..., except X", "... (excluding X)", "including X".
_QUALIFIER = re.compile(
    r"\s*,?\s*\b(?:except|excluding|other than|including|include|i\.e\.|e\.g\.|such as)\b.*$",
    re.IGNORECASE,
)
# SSIC's generic tails and heads: "REAL ESTATE ACTIVITIES" is "real estate".
_TAIL = re.compile(
    r"\s+(?:and\s+)?(?:related\s+)?(?:service\s+)?(?:activities|activity|services|service|trade)$"
)
_HEAD = re.compile(r"^(?:activities of|provision of|operation of|operating of)\s+")
_PRODUCTS = re.compile(r"\s+(?:products|product|goods)$")
_RETAIL_SALE = re.compile(r"^retail sale (?=of |via |in )")
_SLASH = re.compile(r"(\w+)/(\w+)")
_CHANNEL = re.compile(
    r"marketplace|multi-sided|two-sided|electronic markets|online classifieds|e-commerce"
    r"|online retailer|via internet|vending machine|mail order|door-to-door|training courses"
    r"|representative office",
    re.IGNORECASE,
)
_SEE = re.compile(
    r"^(?P<text>.+?),?\s+see\s+(?:sub-?class\s+|class\s+|group\s+|division\s+)?"
    r"(?P<code>[0-9]{2,5})\s*\.?$",
    re.IGNORECASE,
)
_BULLET = re.compile(r"^\s*[\u2022\u00b7*-]\s*")
_CODE = re.compile(r"^(?:[A-U]|[0-9]{2,5})$")
MAX_DEFINITION_WORDS = 8
# Keys that would be only a generic word once a title is cleaned: never a sense of their own.
_GENERIC_FORMS = frozenset(
    ["other", "nec", "other nec", "related", "activities", "activity", "services", "service"]
    + ["trade", "works", "related activities"]
)


class VocabularyError(ValueError):
    """A shipped vocabulary file is malformed (names the file, line and problem)."""


@dataclass(frozen=True)
class Entry:
    """One vocabulary row: a phrase from one source and the SSIC codes it names."""

    source: str
    phrase: str
    key: str
    codes: tuple[str, ...]
    other: bool = False
    """An "Other ..."/"n.e.c." title or a sales-channel variant: never a generic name's sense."""
    n_codes: int = 0
    """The number of subclasses below the codes (filled by ``build_vocabulary``)."""

    @property
    def squash(self) -> str:
        """Return the key without spaces ("e commerce" is "ecommerce")."""
        return squash(self.key)

    @property
    def n_words(self) -> int:
        """Return the number of non-trivial words in the key."""
        return n_words(self.key)


def _spell(word: str) -> str:
    word = SPELLING.get(word, word)
    return _IZE.sub(lambda m: "is" + m.group(1), word)


def vocabulary_key(text: str) -> str:
    """Return the matching key of a phrase: NFKC, lowercase, no brackets or punctuation."""
    if not isinstance(text, str):
        return ""
    t = unicodedata.normalize("NFKC", text).lower()
    for _ in range(2):  # one level of nesting: "(e.g. (a) and (b))"
        t = _PAREN.sub(" ", t)
    t = t.replace("&", " and ").replace("+", " and ")
    t = _APOSTROPHE.sub("", t)
    t = _NON_WORD.sub(" ", t)
    return " ".join(_spell(w) for w in t.split())


def squash(key: str) -> str:
    """Return a key without spaces, so "e commerce", "ecommerce" and "e-commerce" meet."""
    return key.replace(" ", "")


def n_words(key: str) -> int:
    """Return the number of words in a key that are not trivial connectives."""
    return sum(1 for w in key.split() if w not in TRIVIAL)


_SUFFIXES = ("ings", "ing", "ers", "er", "ied", "ies", "ed", "es", "s", "e")


def word_base(word: str) -> str:
    """Return a word without its inflection ("bakeries" -> "bakery", "bankers" -> "bank")."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + ("y" if suffix in ("ies", "ied") else "")
    return word


def inflected(a: str, b: str) -> bool:
    """Whether two keys differ only by inflections of the same words.

    The stemmer also merges words of different meaning ("hospitals" and "hospitality",
    "consultancy" and "consultants"); a match by stems must survive this check.
    """
    wa = sorted(word_base(w) for w in a.split() if w not in TRIVIAL)
    wb = sorted(word_base(w) for w in b.split() if w not in TRIVIAL)
    return wa == wb


def known_words(entries: Iterable[Entry]) -> dict[str, tuple[str, bool]]:
    """Return every word the vocabulary uses (letters only, 3+): its base and whether it is
    a word of a name (a curated synonym, an official title or a sales group).

    A typed word whose base is among them is a real word ("bankers": "bank"), never read
    as a typo of another ("bakers"); an unknown word may be a typo of a name's word
    ("resturants": "restaurants"), not of a word that only an index phrase or a definition
    uses ("halal" is not "hall").
    """
    words: dict[str, tuple[str, bool]] = {}
    for e in entries:
        named = e.source in ("synonym", "title", "group")
        for w in e.key.split():
            if len(w) >= 3 and w.isalpha() and w.isascii() and w not in TRIVIAL:
                seen = words.get(w)
                words[w] = (word_base(w), named or bool(seen and seen[1]))
    return words


def _variants(text: str) -> list[str]:
    """Return a phrase with each "a/b" alternative spelled out ("salons/shops")."""
    pairs = _SLASH.findall(text)[:3]
    if not pairs:
        return [text]
    out = []
    for choice in itertools.product(*[(a, b) for a, b in pairs]):
        words = iter(choice)

        def pick(m: re.Match[str], words: Iterator[str] = words) -> str:
            return next(words, m.group(1))

        out.append(_SLASH.sub(pick, text))
    return out


_NOT_NAMES = frozenset(
    "agents dealers brokers traders services works activities products goods parts "
    "accessories supplies materials equipment others entities".split()
)
_LIST_SPLIT = re.compile(r",\s*|\s+and\s+")
_NOT_A_LIST = re.compile(r"\b(?:of|for|with|by|on|to|in|from|via|without|other|related)\b")


def _list_items(text: str) -> list[str]:
    """Return the items of a subclass title that lists businesses ("beauty salons and spas").

    Only a plain list of names qualifies: no "of"/"for"/... phrase ("Manufacture of soap,
    detergents, ..."), every item a name of its own (below).
    """
    key = vocabulary_key(text)
    if _NOT_A_LIST.search(key) or n_words(key) > 8:
        return []
    items = [vocabulary_key(i) for i in _LIST_SPLIT.split(text.lower())]
    items = [i for i in items if i]
    if len(items) < 2:
        return []
    # Every item must be a name on its own, ending in a plural noun that is not a generic
    # head: "beauty salons and spas" lists two businesses; "stock, share and bond brokers",
    # "design and consultancy services" and "crude petroleum and natural gas production"
    # share one head noun and are not lists of names.
    for item in items:
        last = item.split()[-1]
        if not last.endswith("s") or last.endswith("ss") or last in _NOT_NAMES:
            return []
    return items


def title_keys(title: str, *, subclass: bool = False, parts: bool = True) -> tuple[list[str], bool]:
    """Return the matching keys of an official title and whether it is an "Other"/n.e.c. one.

    For a subclass whose title lists businesses, each listed name is a key too. A title of
    several parts ("ACTIVITIES OF HEAD OFFICES; MANAGEMENT CONSULTANCY ACTIVITIES") is
    named by each part only when ``parts`` (classes and subclasses): a broader node's part
    is its child's own title, and naming it must not bring the whole node.
    """
    nec = bool(_NEC.search(title))
    other = nec or title.strip().lower().startswith("other ")
    text = title
    for _ in range(2):
        text = _PAREN.sub(" ", text)
    text = _NEC.sub(" ", text)
    keys: list[str] = []
    for part in text.split(";") if parts else [text.replace(";", " ")]:
        part = _QUALIFIER.sub("", part).strip(" ,")
        for variant in _variants(part):
            key = vocabulary_key(variant)
            if not key:
                continue
            forms = [key]
            core = _HEAD.sub("", _TAIL.sub("", key))
            forms.append(core)
            forms.append(_PRODUCTS.sub("", core))
            forms.append(_RETAIL_SALE.sub("retail ", core))
            if subclass and not other:
                for item in _list_items(variant):
                    forms += [item, _TAIL.sub("", item)]
            for form in forms:
                form = form.strip()
                if nec:
                    form = f"{form} nec"  # a marker word: never equal to a generic name
                if form and form not in keys and form not in _GENERIC_FORMS:
                    keys.append(form)
    return keys, other


def _rows(text: str, name: str, required: Iterable[str]) -> list[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text))
    missing = set(required) - set(reader.fieldnames or [])
    if missing:
        raise VocabularyError(f"{name}: missing columns {sorted(missing)}")
    return [(i + 2, row) for i, row in enumerate(reader)]


def _bullets(text: str) -> list[str]:
    return [
        _BULLET.sub("", ln).strip()
        for ln in (text or "").splitlines()
        if _BULLET.match(ln) and ln.strip() not in ("•", "-")
    ]


def definition_entries(definitions: str, titles: Mapping[str, str]) -> list[Entry]:
    """Return the activities listed in the detailed definitions and their cross-references.

    Entries of sales-channel subclasses (training courses, online marketplaces) are
    flagged ``other``: "logistics" listed as a training subject is not logistics.
    """
    out: list[Entry] = []

    def add(text: str, code: str) -> None:
        key = vocabulary_key(_QUALIFIER.sub("", text))
        if key and n_words(key) <= MAX_DEFINITION_WORDS and "other" not in key.split():
            channel = bool(_CHANNEL.search(titles.get(code, "")))
            out.append(Entry("definition", text, key, (code,), channel))

    for _line, rec in _rows(definitions, "definitions", ("code", "level")):
        code, level = rec["code"].strip(), rec["level"].strip()
        if level not in ("class", "subclass"):
            continue
        listed = _bullets(rec.get("detailed_definition", "")) + _bullets(
            rec.get("examples_of_activities", "")
        )
        for item in listed:
            add(re.sub(r"[;:,.]?\s*(?:and|or)?\s*$", "", item).strip(), code)
        for item in _bullets(rec.get("cross_references", "")):
            m = _SEE.match(item)
            if m and m.group("code") in titles:
                add(m.group("text"), m.group("code"))
    return out


def title_entries(titles: Mapping[str, str]) -> list[Entry]:
    """Return one entry per key of every official title (code -> title)."""
    out: list[Entry] = []
    for code, title in titles.items():
        keys, other = title_keys(title, subclass=len(code) == 5, parts=len(code) >= 4)
        out.extend(Entry("title", title, key, (code,), other) for key in keys)
    return out


def index_entries(index: str) -> list[Entry]:
    """Return the alphabetical-index phrases, sales-channel variants flagged ``other``."""
    out: list[Entry] = []
    for _line, rec in _rows(index, "alphabetical index", ("ssic_code", "index_description")):
        phrase = rec["index_description"].strip()
        key = vocabulary_key(phrase)
        if key:
            code = rec["ssic_code"].strip().zfill(5)
            out.append(Entry("index", phrase, key, (code,), bool(_CHANNEL.search(phrase))))
    return out


_VAGUE = frozenset("activities activity services service other nec related".split())


def _word_set(text: str, cut: bool = True) -> frozenset[str]:
    """Return the telling words of a title, crudely singular, for comparing two titles."""
    text = _NEC.sub(" ", _PAREN.sub(" ", text.replace("/", " ")))
    if cut:
        text = _QUALIFIER.sub("", text)
    words = vocabulary_key(text).split()
    return frozenset(w.rstrip("s") for w in words if w not in TRIVIAL and w not in _VAGUE)


def _similar(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


@dataclass(frozen=True)
class GroupCodes:
    """How the sales grouping's rows were read against SSIC 2020."""

    entries: list[Entry]
    remapped: dict[str, str]
    """Grouping code -> the SSIC 2020 subclass its description names."""
    skipped: list[str]
    """Grouping codes whose description names no SSIC 2020 subclass."""


def group_entries(groups: str, titles: Mapping[str, str]) -> GroupCodes:
    """Return the sales grouping's sub-industries and industry types with their codes.

    The grouping is numbered by a later SSIC edition: many of its codes do not exist in
    SSIC 2020 or mean something else there (its 18111 is "Printing of periodicals", SSIC
    2020's 18112). Each row is therefore read by its description: the row's own code when
    its SSIC 2020 title says the same (word overlap >= 0.5), else the one subclass whose
    title says it best (>= 0.7), else the row is left out.
    """
    subclasses = {c: _word_set(t) for c, t in titles.items() if len(c) == 5}
    required = ("parent_industry", "industry_type", "sub_industry", "ssic_code", "description")
    by_name: dict[str, set[str]] = {}
    remapped: dict[str, str] = {}
    skipped: list[str] = []
    for _line, rec in _rows(groups, "industry_groups_sample.csv", required):
        code = rec["ssic_code"].strip().zfill(5)
        said = _word_set(rec["description"])
        own = max(
            _similar(said, subclasses.get(code, frozenset())),
            _similar(_word_set(rec["description"], False), _word_set(titles.get(code, ""), False)),
        )
        if own < 0.5:
            ranked = sorted(((_similar(said, w), c) for c, w in subclasses.items()), reverse=True)
            if ranked[0][0] < 0.7 or ranked[0][0] == ranked[1][0]:
                skipped.append(code)
                continue
            remapped[code] = ranked[0][1]
            code = ranked[0][1]
        for name in (rec["sub_industry"], rec["industry_type"]):
            name = name.strip()
            # "Services" is too broad to be a sense of its own (it is a ``broad`` word).
            if name and name.lower() != "services":
                by_name.setdefault(name, set()).add(code)
    entries = [
        Entry("group", name, vocabulary_key(name), tuple(sorted(codes)))
        for name, codes in by_name.items()
        if vocabulary_key(name)
    ]
    return GroupCodes(entries, remapped, skipped)


def synonym_entries(synonyms: str, valid: set[str]) -> list[Entry]:
    """Return the curated synonyms; every code must exist in SSIC 2020."""
    out: list[Entry] = []
    name = "sales_synonyms.csv"
    for line, rec in _rows(synonyms, name, ("phrase", "codes", "kind", "why")):
        phrase, kind = rec["phrase"].strip(), rec["kind"].strip()
        codes = tuple(rec["codes"].split())
        if kind not in SYNONYM_KINDS:
            raise VocabularyError(
                f"{name} line {line}: kind {kind!r} is not one of {SYNONYM_KINDS}"
            )
        key = vocabulary_key(phrase)
        if not key:
            raise VocabularyError(f"{name} line {line}: empty phrase")
        if not codes:
            raise VocabularyError(f"{name} line {line}: {phrase!r} has no codes")
        for code in codes:
            if not _CODE.match(code) or code not in valid:
                raise VocabularyError(f"{name} line {line}: unknown SSIC code {code!r}")
        out.append(Entry(kind, phrase, key, codes))
    return out


def subclass_counter(sections: Mapping[str, str]) -> Callable[[Iterable[str]], int]:
    """Return a function counting the distinct subclasses below SSIC codes of any level.

    ``sections`` maps every SSIC code to its section letter (subclasses are 5 digits).
    """
    below: dict[str, set[str]] = {}
    for code, sec in sections.items():
        if len(code) == 5:
            for node in (sec, code[:2], code[:3], code[:4], code):
                below.setdefault(node, set()).add(code)

    def count(codes: Iterable[str]) -> int:
        return len(set().union(*(below.get(c, set()) for c in codes)))

    return count


def build_vocabulary(
    titles: Mapping[str, str],
    sections: Mapping[str, str],
    index: str,
    definitions: str,
    groups: str,
    synonyms: str,
) -> list[Entry]:
    """Return the whole vocabulary, one entry per (source, key) with the union of codes.

    ``titles`` and ``sections`` map every SSIC 2020 code to its title and section letter.
    """
    valid = set(titles)
    entries = [
        *synonym_entries(synonyms, valid),
        *title_entries(titles),
        *group_entries(groups, titles).entries,
        *index_entries(index),
        *definition_entries(definitions, titles),
    ]
    merged: dict[tuple[str, str], Entry] = {}
    for e in entries:
        seen = merged.get((e.source, e.key))
        if seen is None:
            merged[(e.source, e.key)] = e
        else:
            codes = tuple(dict.fromkeys((*seen.codes, *e.codes)))
            merged[(e.source, e.key)] = replace(seen, codes=codes, other=seen.other and e.other)
    count = subclass_counter(sections)
    out = [replace(e, n_codes=count(e.codes)) for e in merged.values()]
    return sorted(out, key=lambda e: (SOURCES.index(e.source), e.key))


@lru_cache(maxsize=1)
def compound_phrases() -> tuple[str, ...]:
    """Return the curated phrases that join two words with "and"/"&" ("m&e", "oil & gas").

    Term extraction keeps these whole instead of splitting the message at "and".
    """
    text = resources.files("db").joinpath(SYNONYMS_FILE).read_text(encoding="utf-8")
    out = []
    for row in csv.DictReader(io.StringIO(text)):
        phrase = unicodedata.normalize("NFKC", row.get("phrase") or "").lower().strip()
        if re.search(r"\w\s*&\s*\w|\sand\s", phrase) and not re.fullmatch(
            r"\w\s*&\s*\w", phrase
        ):
            out.append(_SPACE.sub(" ", phrase.replace("&", " and ")))
    return tuple(out)
