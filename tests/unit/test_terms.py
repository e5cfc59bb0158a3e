"""Terms come from the latest human message in any client's shape; chit-chat gives none."""

from __future__ import annotations

import random
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from nodes.terms import (
    MAX_TEXT_CHARS,
    edit_distance,
    extract,
    extract_terms,
    latest_human_text,
    more_request,
)

# ---------------------------------------------------------------- latest_human_text


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ([{"type": "human", "content": "Manufacturing"}], "Manufacturing"),
        ([{"type": "user", "content": "bakery"}], "bakery"),
        ([{"role": "user", "content": "logistics"}], "logistics"),
        ([{"role": "human", "content": "retail"}], "retail"),
        ([{"role": "USER", "content": "retail"}], "retail"),
        # agent-chat-ui: a list of content blocks
        (
            [{"type": "human", "content": [{"type": "text", "text": "Manufacturing"}]}],
            "Manufacturing",
        ),
        (
            [
                {
                    "type": "human",
                    "content": [
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,xx"}},
                        {"type": "text", "text": "bakery"},
                        "and logistics",
                        {"type": "file", "data": "..."},
                    ],
                }
            ],
            "bakery\nand logistics",
        ),
        # nested blocks and a block without a type
        ([{"type": "human", "content": [[{"text": "a"}, ["b"]], {"content": "c"}]}], "a\nb\nc"),
        # serialized langchain message
        ([{"lc": 1, "id": ["x", "HumanMessage"], "kwargs": {"content": "hotels"}}], "hotels"),
        ([{"lc": 1, "kwargs": {"type": "human", "content": "cafes"}}], "cafes"),
    ],
)
def test_latest_human_text_shapes(messages: list[Any], expected: str) -> None:
    assert latest_human_text(messages) == expected


def test_message_objects() -> None:
    msgs = [
        SystemMessage("be brief"),
        HumanMessage("Manufacturing"),
        AIMessage("Found 355 codes"),
        HumanMessage(content=[{"type": "text", "text": "bakery"}]),
        AIMessage("ok"),
        ToolMessage("result", tool_call_id="1"),
    ]
    assert latest_human_text(msgs) == "bakery"


def test_latest_human_wins_over_earlier_and_ai() -> None:
    msgs: list[Any] = [
        {"type": "human", "content": "Manufacturing"},
        {"type": "ai", "content": "done"},
        {"role": "user", "content": "logistics"},
        {"role": "assistant", "content": "anything else?"},
    ]
    assert latest_human_text(msgs) == "logistics"
    # mixing dicts and objects
    assert latest_human_text([HumanMessage("a"), {"type": "human", "content": "b"}]) == "b"
    assert latest_human_text([{"type": "human", "content": "a"}, HumanMessage("b")]) == "b"


def test_latest_human_with_only_an_image_is_empty() -> None:
    msgs: list[Any] = [
        {"type": "human", "content": "Manufacturing"},
        {"type": "human", "content": [{"type": "image_url", "image_url": {"url": "x"}}]},
    ]
    assert latest_human_text(msgs) == ""


class _Exploding:
    @property
    def type(self) -> str:
        raise RuntimeError("boom")


@pytest.mark.parametrize(
    "messages",
    [
        None,
        "Manufacturing",
        b"bytes",
        42,
        {"type": "human", "content": "not a list"},
        [],
        [None, 1, "x", b"y", 3.5],
        [{"type": "ai", "content": "hello"}],
        [{"type": "human"}],
        [{"type": "human", "content": None}],
        [{"type": "human", "content": 123}],
        [{"type": "human", "content": {"weird": True}}],
        [{"content": "no role"}],
        [_Exploding()],
    ],
)
def test_latest_human_text_odd_shapes(messages: Any) -> None:
    assert latest_human_text(messages) == ""


def test_latest_human_text_deep_nesting_and_size() -> None:
    deep: Any = "x"
    for _ in range(200):
        deep = [deep]
    assert latest_human_text([{"type": "human", "content": deep}]) == ""
    huge = "bakery " * 10_000
    assert len(latest_human_text([{"type": "human", "content": huge}])) == MAX_TEXT_CHARS
    blocks = [{"type": "text", "text": "y" * 1000}] * 1000
    assert len(latest_human_text([{"type": "human", "content": blocks}])) <= MAX_TEXT_CHARS


# ---------------------------------------------------------------- extract_terms


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Manufacturing", ["manufacturing"]),
        ("  MANUFACTURING  ", ["manufacturing"]),
        ("manufacturing, logistics", ["manufacturing", "logistics"]),
        ("manufacturing; logistics\nretail", ["manufacturing", "logistics", "retail"]),
        ("bakeries and restaurants", ["bakeries", "restaurants"]),
        ("bakeries or cafes", ["bakeries", "cafes"]),
        ("bakeries & cafes / hotels", ["bakeries", "cafes", "hotels"]),
        ("Software   Development", ["software development"]),
        ("industry: bakery", ["bakery"]),
        ("Industries: retail, wholesale", ["retail", "wholesale"]),
        ("sector: real estate", ["real estate"]),
        ("find bakeries", ["bakeries"]),
        ("show me logistics companies please", ["logistics"]),
        ("looking for IT consultancy firms", ["it consultancy"]),
        ("search for e-commerce businesses", ["e-commerce"]),
        ("leads in construction", ["construction"]),
        ("Find me bakeries and restaurants in Singapore", ["bakeries", "restaurants"]),
        ("Can you find me hotels?", ["hotels"]),
        ("list of all the wholesale companies in SG", ["wholesale"]),
        ("some restaurants", ["restaurants"]),
        ("I'm looking for precision engineering companies", ["precision engineering"]),
        ("what about retail?", ["retail"]),
        ("ok thanks, manufacturing", ["manufacturing"]),
        ("Top 10 logistics companies", ["logistics"]),
        ("manufacturing.", ["manufacturing"]),
        # a minimum lead score is a filter, not an industry word
        ("IT consultancies with high scores", ["it consultancies"]),
        ("bakeries scoring 80 or more", ["bakeries"]),
        ("hot leads in logistics", ["logistics"]),
        ("high-scoring F&B outlets", ["f&b"]),
        ("top rated hotels", ["hotels"]),
        ("high tech companies", ["high tech"]),
        ("hot pot restaurants", ["hot pot restaurants"]),
        ("manufacturing, Manufacturing, MANUFACTURING", ["manufacturing"]),
        # names that are one industry
        ("F&B", ["f&b"]),
        ("R&D, semiconductors", ["r&d", "semiconductors"]),
        ("food and beverage", ["food and beverage"]),
        ("Oil & Gas", ["oil and gas"]),
        # SSIC-like codes
        ("10712", ["10712"]),
        ("62", ["62"]),
        ("companies in 62, 10712", ["62", "10712"]),
        ("1", []),
        ("123456", []),
        # other scripts are letters too
        ("مصنع الأغذية", ["مصنع الأغذية"]),
        ("Bäckerei", ["bäckerei"]),
    ],
)
def test_extract_terms(text: str, expected: list[str]) -> None:
    assert extract_terms(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "ok",
        "OK!",
        "okay",
        "thanks",
        "Thank you!",
        "thank you so much",
        "thx",
        "hi",
        "Hello!",
        "hey there",
        "good morning",
        "yes",
        "yes please",
        "no thanks",
        "cool",
        "great, thanks!",
        "bye",
        "lol",
        "help",
        "help?",
    ],
)
def test_chitchat_gives_no_terms(text: str) -> None:
    assert extract_terms(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "who are you?",
        "Who are you",
        "what can you do?",
        "How does this work",
        "how does this work?",
        "how are you?",
        "what is this?",
        "what's the weather today?",
        "are you a bot?",
        "can you help?",
    ],
)
def test_questions_to_the_assistant_give_no_terms(text: str) -> None:
    assert extract_terms(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "https://example.com",
        "http://example.com/a/b?c=d&e=f",
        "www.acme.com.sg",
        "check out www.acme.com.sg",
        "acme.com",
        "john@acme.com",
        "email me at sales@acme.sg",
    ],
)
def test_links_and_addresses_give_no_terms(text: str) -> None:
    assert extract_terms(text) == []


def test_link_next_to_a_term_keeps_the_term() -> None:
    assert extract_terms("see https://acme.com/about, and bakeries") == ["bakeries"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\n\t  \n",
        "!!!",
        "...",
        "?",
        "-- ;; //",
        "😀",
        "😀😀🎉",
        "👍🏽",
        "\u200f\u200e",
        "\x00\x01",
    ],
)
def test_empty_punctuation_and_emoji_give_no_terms(text: str) -> None:
    assert extract_terms(text) == []


def test_ten_term_cap() -> None:
    text = ", ".join(f"industry{chr(97 + i)}" for i in range(15))
    terms = extract_terms(text)
    assert terms == [f"industry{chr(97 + i)}" for i in range(10)]


def test_control_characters_are_stripped() -> None:
    # A control character ends a word: NUL inside "bakery" is not "bakery".
    assert extract_terms("bak\x00ery\x1b") == ["bak", "ery"]
    assert extract_terms("hair\u200bdressing") == ["hairdressing"]
    assert extract_terms("logistics\x07\x08, retail") == ["logistics", "retail"]


def test_rtl_and_emoji_mixed_in() -> None:
    assert extract_terms("\u202ebakery\u202c 🍞") == ["bakery"]
    assert extract_terms("🍞 bakeries, 🏗 construction") == ["bakeries", "construction"]


def test_terms_are_short_lowercase_and_normalized() -> None:
    long_term = "precision " + "engineering " * 20
    (term,) = extract_terms(long_term)
    assert 2 <= len(term) <= 60
    assert term == term.lower().strip()
    assert "  " not in term
    # full-width letters are normalized
    assert extract_terms("ＢＡＫＥＲＹ") == ["bakery"]


@pytest.mark.parametrize(
    "text",
    [
        "'; DROP TABLE ssic_ref; --",
        "%' OR 1=1 --",
        "a" * 10_000,
        "manufacturing, " * 2_000,
        "\u202e" * 5000,
        "🙂" * 5000,
        "&|!:*()<>",
        "\\\\\\",
        "and and or or &&&",
    ],
)
def test_hostile_input_never_raises(text: str) -> None:
    terms = extract_terms(text)
    assert len(terms) <= 10
    assert all(2 <= len(t) <= 60 and t == t.lower() for t in terms)


def test_random_strings_never_raise() -> None:
    rng = random.Random(1234)
    alphabet = (
        "abcdefghijklmnopqrstuvwxyz ABC,;:/&.!?'\"-_()[]{}\n\t\x00\x1f\u200f\u202e"
        "🙂🏗漢字ابت0123456789%@#"
    )
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300)))
        terms = extract_terms(text)
        assert len(terms) <= 10
        assert len(set(terms)) == len(terms)
        for t in terms:
            assert 2 <= len(t) <= 60
            assert t == t.strip() and t == t.lower()
            assert not any(ord(ch) < 32 for ch in t)


@pytest.mark.parametrize("value", [None, 5, b"bakery", ["bakery"]])
def test_non_strings_give_no_terms(value: Any) -> None:
    assert extract_terms(value) == []


def test_end_to_end_from_agent_chat_ui_message() -> None:
    msgs = [
        {"type": "human", "content": [{"type": "text", "text": "thanks"}]},
        {"type": "ai", "content": "anything else?"},
        {
            "type": "human",
            "content": [{"type": "text", "text": "Show me bakeries, F&B and logistics"}],
        },
    ]
    assert extract_terms(latest_human_text(msgs)) == ["bakeries", "f&b", "logistics"]


def test_lone_letters_are_not_industry_words() -> None:
    assert extract_terms("a b a b a b a b") == []
    assert extract_terms("vitamin c manufacturing") == ["vitamin"]
    assert extract_terms("f&b") == ["f&b"]


# ---------------------------------------------------------------- extract: what is set aside


def _aside(text: str) -> list[tuple[str, str, str, str]]:
    return [(s.kind, s.text, s.op, s.value) for s in extract(text).set_aside if s.kind != "generic"]


@pytest.mark.parametrize(
    ("text", "term", "full"),
    [
        ("software companies incorporated after 2015", "software", "software companies"),
        ("IT companies", "it", "it companies"),
        ("I.T. services", "it", "it services"),
        ("looking for it consultancy firms", "it consultancy", "it consultancy firms"),
        ("coffee shops in Toa Payoh", "coffee", "coffee shops"),
        ("F&B outlets in Jurong", "f&b", "f&b outlets"),
        ("M&E contractors", "m&e", "m&e contractors"),
        ("cleaning servies", "cleaning", "cleaning servies"),  # a typo of a generic noun
        (
            "furniture manufacturers with more than 50 employees",
            "furniture",
            "furniture manufacturers",
        ),
        ("帮我找物流公司", "物流", "物流"),
        ("syarikat pembinaan di Singapura", "pembinaan", "syarikat pembinaan"),
        ("live music venues", "live music venues", "live music venues"),
    ],
)
def test_industry_words_and_their_full_phrase(text: str, term: str, full: str) -> None:
    (t,) = extract(text).terms
    assert (t.text, t.full) == (term, full)


def test_role_nouns_say_which_part_of_an_industry() -> None:
    roles = {t.full: t.role for t in extract("furniture makers, food suppliers, toy shops").terms}
    assert roles == {
        "furniture makers": "manufacture",
        "food suppliers": "wholesale",
        "toy shops": "retail",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "software companies incorporated after 2015",
            [("date", "incorporated after 2015", "after", "2015")],
        ),
        (
            "bakeries founded between 2010 and 2015",
            [("date", "founded between 2010 and 2015", "between", "2010-2015")],
        ),
        (
            "cafes set up in the last 5 years",
            [("date", "set up in the last 5 years", "within_years", "5")],
        ),
        (
            "logistics firms registered before 2000",
            [("date", "registered before 2000", "before", "2000")],
        ),
        ("restaurants in Jurong", [("location", "in jurong", "", "jurong")]),
        ("retail near Orchard", [("location", "near orchard", "", "orchard")]),
        ("tampines bakeries", [("location", "tampines", "", "tampines")]),
        ("small logistics companies", [("size", "small", "", "small")]),
        ("IT firms with over 50 employees", [("size", "with over 50 employees", "", "50")]),
        ("live construction companies", [("status", "live", "", "live")]),
        ("hotels with a website", [("qualifier", "with a website", "", "")]),
    ],
)
def test_qualifiers_are_set_aside_with_a_kind(
    text: str, expected: list[tuple[str, str, str, str]]
) -> None:
    assert _aside(text) == expected
    assert extract(text).terms  # the industry is still there


@pytest.mark.parametrize(
    "text", ["services", "companies", "SMEs", "any industry", "businesses in Jurong", "towkay"]
)
def test_a_kind_of_company_without_an_industry_is_a_broad_term(text: str) -> None:
    (t,) = extract(text).terms
    assert t.text == "" and t.full


@pytest.mark.parametrize(
    "text",
    [
        "only live ones",
        "in Jurong",
        "incorporated after 2015",
        "next page",
        "cancel my job",
        "show me more",
        "thanks, got it",
        "is it ok?",
        "%' UNION SELECT * FROM companies --",
        "'; DROP TABLE lead_scores; --",
    ],
)
def test_no_industry_in_commands_filters_and_sql(text: str) -> None:
    assert extract(text).terms == ()


def test_it_in_a_list_of_industries_is_the_industry() -> None:
    assert extract_terms("manufacturing, logistics, it") == ["manufacturing", "logistics", "it"]
    assert extract_terms("Manufacturing, logistics, IT") == ["manufacturing", "logistics", "it"]
    assert extract_terms("thanks, got it") == []


def test_edit_distance_counts_likely_typos_cheaper() -> None:
    assert edit_distance("plumbres", "plumbers") == 1  # swapped letters
    assert edit_distance("resturant", "restaurant") == 1  # a missing letter
    assert edit_distance("semiconducter", "semiconductor") == 1  # a vowel for a vowel
    assert edit_distance("scores", "stores") == 1.5  # far keys: another word


# ---------------------------------------------------------------- more_request


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("more", 10),
        ("More!", 10),
        ("more please", 10),
        ("ok, more please", 10),
        ("show more", 10),
        ("show me more leads", 10),
        ("load more", 10),
        ("next", 10),
        ("Next page", 10),
        ("next 20", 20),
        ("20 more", 20),
        ("show me 5 more", 5),
        ("can you show me 5 more?", 5),
        ("give me 100 more", 50),  # capped
        ("0 more", 1),
        ("more manufacturing", None),  # a search, not a page
        ("manufacturing", None),
        ("next generation sequencing", None),
        ("morel", None),
        ("10", None),
        ("", None),
        ("more " * 40, None),
    ],
)
def test_more_request(text: str, expected: int | None) -> None:
    assert more_request(text) == expected
