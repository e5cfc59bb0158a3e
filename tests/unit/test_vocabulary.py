"""The search vocabulary is built from the shipped data the way the resolver matches it."""

from __future__ import annotations

import csv
import io
from collections import Counter
from importlib import resources

import pytest

from db.vocabulary import (
    SYNONYMS_FILE,
    VocabularyError,
    build_vocabulary,
    compound_phrases,
    group_entries,
    inflected,
    known_words,
    n_words,
    squash,
    synonym_entries,
    title_keys,
    vocabulary_key,
    word_base,
)


def _read(path: str) -> str:
    return resources.files("db").joinpath(path).read_text(encoding="utf-8")


DEFINITIONS = _read("data/ssic2020/ssic2020_detailed_definitions.csv")
RECORDS = list(csv.DictReader(io.StringIO(DEFINITIONS)))
TITLES = {r["code"]: r["title"] for r in RECORDS}
SECTIONS = {r["code"]: r["section"] for r in RECORDS}


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Legal activities (excluding online marketplaces)", "legal activities"),
        ("F&B", "f and b"),
        ("E-Commerce", "e commerce"),
        ("Children's clothing", "childrens clothing"),
        ("Day care centers", "day care centres"),
        ("Jewelry", "jewellery"),
        ("Organizations", "organisations"),
        ("  餐馆  ", "餐馆"),
        ("ＢＡＫＥＲＹ", "bakery"),
        ("", ""),
    ],
)
def test_vocabulary_key(text: str, key: str) -> None:
    assert vocabulary_key(text) == key


def test_squash_and_words() -> None:
    assert squash("e commerce") == squash(vocabulary_key("ecommerce")) == "ecommerce"
    assert n_words("manufacture of furniture") == 2
    assert n_words("it consultancy") == 2  # "it" counts: it is the industry


@pytest.mark.parametrize(
    ("code", "has", "lacks"),
    [
        # official title, its core without the generic tail
        ("68", {"real estate activities", "real estate"}, set()),
        ("6910", {"legal activities", "legal"}, set()),
        # "Other ..." and n.e.c. titles keep a marker: never equal to a generic name
        ("8129", {"other cleaning services"}, {"cleaning services", "cleaning"}),
        ("85409", {"training courses nec"}, {"training courses"}),
        # a subclass title listing businesses: each one is a key
        ("47102", {"convenience stores", "provision shops", "mini marts"}, set()),
        ("96022", {"beauty salons", "spas"}, set()),
        # ... but shared head nouns are not lists
        ("66121", set(), {"stock", "dealers"}),
        ("71121", set(), {"consultancy services", "consultancy"}),
        # a division's second part names its child group, not the whole division
        ("70", set(), {"management consultancy"}),
        ("702", {"management consultancy"}, set()),
        # "/" alternatives
        ("96021", {"hairdressing salons", "hairdressing shops"}, set()),
        # products dropped, "retail sale" read as "retail"
        ("10", {"manufacture of food"}, set()),
        ("47531", {"retail of furniture"}, set()),
    ],
)
def test_title_keys(code: str, has: set[str], lacks: set[str]) -> None:
    keys = set(title_keys(TITLES[code], subclass=len(code) == 5, parts=len(code) >= 4)[0])
    assert has <= keys, keys
    assert not lacks & keys, keys


def test_inflections_and_known_words() -> None:
    assert word_base("bakeries") == "bakery" and word_base("bankers") == "bank"
    assert inflected("bakeries", "bakery")
    assert inflected("furniture manufacturing", "manufacture of furniture")
    assert not inflected("hospitals", "hospitality")  # the stemmer merges these
    assert not inflected("recruitement", "recruitment")
    entries = build_vocabulary(
        TITLES,
        SECTIONS,
        "ssic_code,index_description\n",
        DEFINITIONS,
        "parent_industry,industry_type,sub_industry,ssic_code,description\n",
        "phrase,codes,kind,why\n",
    )
    words = known_words(entries)
    assert words["restaurants"] == ("restaurant", True)  # a title's word
    assert words["manufacturing"] == ("manufactur", True)
    assert "resturant" not in words


def test_shipped_vocabulary_builds() -> None:
    entries = build_vocabulary(
        TITLES,
        SECTIONS,
        _read("data/ssic2020/ssic2020_alphabetical_index.csv"),
        DEFINITIONS,
        _read("data/ssic2020/industry_groups_sample.csv"),
        _read(SYNONYMS_FILE),
    )
    sources = Counter(e.source for e in entries)
    assert sources["title"] > 1_900 and sources["index"] > 5_000
    assert sources["definition"] > 2_500 and sources["group"] > 100
    assert sources["synonym"] > 2_000 and sources["broad"] > 50
    assert len({(e.source, e.key) for e in entries}) == len(entries)
    by_key = {(e.source, e.key): e for e in entries}
    assert by_key[("synonym", "electricians")].codes == ("43210",)
    assert by_key[("synonym", "trading companies")].codes == ("46900",)
    assert by_key[("broad", "services")].n_codes == 392  # sections H to S
    assert by_key[("title", "manufacturing")].n_codes == 355
    # Sales-channel index phrases are flagged, the plain ones not.
    assert by_key[("index", "tuition centre")].other is False
    assert by_key[("index", "online marketplaces for tuition matching")].other is True
    # Every code of every entry exists in SSIC 2020.
    assert all(c in TITLES for e in entries for c in e.codes)


def test_sales_grouping_is_read_by_description() -> None:
    groups = group_entries(_read("data/ssic2020/industry_groups_sample.csv"), TITLES)
    # The grouping is numbered by a later SSIC edition: its 18111 means SSIC 2020's 18112.
    assert groups.remapped["18111"] == "18112"
    assert groups.remapped["85402"] == "85302"  # "Universities"
    assert "85100" in groups.skipped  # no SSIC 2020 subclass says "Pre-primary education"
    assert len(groups.remapped) + len(groups.skipped) > 90
    by_name = {e.phrase: e for e in groups.entries}
    assert by_name["Hair Salons & Barbershops"].codes == ("96021",)
    assert "18112" in by_name["Other Specialised Manufacturing & Distribution"].codes
    assert all(c in TITLES for e in groups.entries for c in e.codes)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("plumbers,43299 99999,synonym,x", "line 2: unknown SSIC code '99999'"),
        ("plumbers,,synonym,x", "line 2: 'plumbers' has no codes"),
        ("plumbers,43220,sinonym,x", "line 2: kind 'sinonym'"),
        ("!!!,43220,synonym,x", "line 2: empty phrase"),
    ],
)
def test_bad_synonym_rows_name_file_and_line(row: str, message: str) -> None:
    with pytest.raises(VocabularyError, match=message):
        synonym_entries(f"phrase,codes,kind,why\n{row}\n", set(TITLES))


def test_compound_phrases_stay_whole() -> None:
    phrases = compound_phrases()
    assert "mechanical and electrical" in phrases and "oil and gas" in phrases
    assert "restaurants and cafes" not in phrases  # two industries: split
