"""Property-based tests of the pure functions that see untrusted input.

extract_terms and latest_human_text read whatever a chat client sends; decode_cursor reads
whatever a caller puts in ``?cursor=``. None of them may raise on any input, and their
outputs keep the bounds the rest of the product relies on (at most 10 short lowercase
terms; a position or a CursorError).
"""

from __future__ import annotations

import re
import string
import unicodedata
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from api.pagination import MAX_CURSOR_CHARS, CursorError, decode_cursor, encode_cursor, scope_of
from nodes import terms as terms_mod
from nodes.terms import MAX_TERM_CHARS, MAX_TERMS, MAX_TEXT_CHARS, extract_terms, latest_human_text

PROPS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(PROPS, max_examples=40)  # for properties whose examples are 4,000+ characters

# Text that looks like chat: words, separators, punctuation, URLs, and any Unicode.
_WORDS = st.sampled_from(
    [
        "manufacturing", "bakery", "Logistics", "F&B", "r & d", "oil and gas", "IT", "and",
        "or", "ok", "thanks", "please", "find", "companies in", "industry:", "who", "what",
        "https://example.com/x", "a@b.co", "www.x.sg", "10711", "46", "-", " - ", ",", ";",
        "/", "\n", "\t", "?", "!", ".", ":", "'", "&", "food & beverage", "the", "of",
        "\x00", "\x01", "\x02", "\u200b", "\u202e", "\ufeff", "🍞", "مصنع", "工厂", "ß", "İ",
    ]
)  # fmt: skip
CHAT_TEXT = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(_WORDS, st.text(max_size=12)), max_size=60).map(" ".join),
    st.lists(_WORDS, max_size=40).map("".join),
)


def _check_terms(out: Any) -> None:
    assert isinstance(out, list)
    assert len(out) <= MAX_TERMS
    assert len(set(out)) == len(out), out
    for term in out:
        assert isinstance(term, str)
        assert 2 <= len(term) <= MAX_TERM_CHARS, term
        assert term == term.lower(), term
        assert term == term.strip() and "  " not in term, term
        # No control/format characters survive (NUL bytes, the module's own placeholders,
        # direction marks): the terms go to SQL parameters, logs and replies.
        assert not any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in term), term


# ---------------------------------------------------------------- extract_terms


@PROPS
@given(CHAT_TEXT)
@example("\x00" * 5000)
@example("a" * 10_000)
@example(", ".join(f"term{i}" for i in range(1000)))
@example("'; DROP TABLE companies; --")
@example("\u202eyrekab\u202c, \u05de\u05e4\u05e2\u05dc")
def test_extract_terms_is_bounded_and_never_raises(text: str) -> None:
    _check_terms(extract_terms(text))


@given(
    st.one_of(
        st.none(),
        st.integers(),
        st.binary(),
        st.lists(st.text()),
        st.dictionaries(st.text(), st.text()),
    )
)
def test_extract_terms_of_non_text_is_empty(value: Any) -> None:
    assert extract_terms(value) == []


@PROPS
@given(CHAT_TEXT)
@example("Food & Beverage, R & D and oil and gas")
@example("\uff26\uff41\uff42\uff52\uff49\uff43 WEAVING")  # fullwidth letters (NFKC)
def test_extracted_terms_only_use_words_of_the_message(text: str) -> None:
    # Extraction picks and trims; it never invents: every word of every term is in the
    # message (as the extractor reads it: NFKC, lowercase; "f & b" joined as "f&b", and
    # "food & beverage" spelled "food and beverage" like the other kept-whole names).
    source = "".join(terms_mod._clean(text).split())
    spelled = source.replace("&", "and")
    for term in extract_terms(text):
        for word in term.split(" "):
            assert word in source or word in spelled, (word, term)


# "it" or "i.t." as a word in any case: in capitals it is the industry, so case matters there.
_IT_WORD = re.compile(r"(?<![a-z0-9&])i\.?t(?![a-z0-9&])", re.IGNORECASE)


@PROPS
@given(st.text(alphabet=string.printable, max_size=300))
def test_extract_terms_ignores_case_of_ascii_text(text: str) -> None:
    # The message is lowercased before anything else looks at it, except that a word "IT"
    # (or "I.T.") in capitals is the industry, not the pronoun (tested in test_terms).
    assume(not _IT_WORD.search(text))
    assert extract_terms(text.upper()) == extract_terms(text) == extract_terms(text.swapcase())


@FEW
@given(st.text(max_size=200), st.text(max_size=3000))
def test_extract_terms_reads_a_bounded_prefix(head: str, tail: str) -> None:
    # Only the first 2 * MAX_TEXT_CHARS characters are ever read: a huge message costs no
    # more than a long one, and what follows the bound cannot change the answer.
    text = (head * (2 * MAX_TEXT_CHARS // max(len(head), 1) + 1))[: 2 * MAX_TEXT_CHARS]
    assume(len(text) == 2 * MAX_TEXT_CHARS)
    assert extract_terms(text + tail) == extract_terms(text)


def _plain_word(word: str) -> bool:
    """Whether a lowercase ASCII word is an ordinary term (no stop word, lead-in, filler,
    generic or role noun, place, size, status or command word)."""
    return not (
        word in terms_mod._CHITCHAT
        or word in terms_mod._EDGE_WORDS
        or word in {"and", "or", "plus", "dan", "atau", "it"}
        or terms_mod._LEAD_IN.match(word)
        or terms_mod._QUESTION.match(word)
        or terms_mod._COMMAND.match(word)
        or terms_mod._FILLER.fullmatch(word)
        or terms_mod._URL.search(word)
        or terms_mod.is_generic(word)
        or terms_mod._PLACE.fullmatch(word)
        or terms_mod._SIZE.fullmatch(word)
        or terms_mod._STATUS.fullmatch(word)
    )


PLAIN_WORD = st.text(alphabet=string.ascii_lowercase, min_size=3, max_size=20).filter(_plain_word)


@PROPS
@given(st.lists(st.lists(PLAIN_WORD, min_size=1, max_size=3).map(" ".join), max_size=15))
def test_comma_separated_plain_terms_round_trip(names: list[str]) -> None:
    # A list of plain industry names (what extract_terms itself returns for simple input)
    # comes back as itself: deduplicated, in order, capped at MAX_TERMS.
    expected = list(dict.fromkeys(n for n in names if len(n) <= MAX_TERM_CHARS))[:MAX_TERMS]
    names = [n for n in names if len(n) <= MAX_TERM_CHARS]
    assert extract_terms(", ".join(names)) == expected
    assert extract_terms("; ".join(n.title() for n in names)) == expected
    assert extract_terms(", ".join(expected)) == expected  # a fixed point


# ---------------------------------------------------------------- latest_human_text

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.sampled_from(["type", "role", "content", "text", "kwargs", "id", "x"])
            | st.text(max_size=5),
            children,
            max_size=5,
        )
    ),
    max_leaves=40,
)
ROLE = st.sampled_from(["human", "user", "HUMAN", "ai", "assistant", "system", "tool", None, 3])
BLOCK = st.recursive(
    st.text(max_size=60)
    | st.fixed_dictionaries({"type": st.just("text"), "text": st.text(max_size=60)})
    | st.fixed_dictionaries({"type": st.sampled_from(["image_url", "file", "tool_use", "???"])})
    | JSON,
    lambda children: (
        st.lists(children, max_size=4)
        | st.fixed_dictionaries({"type": st.sampled_from(["text", None]), "content": children})
    ),
    max_leaves=20,
)
MESSAGE = st.one_of(
    st.fixed_dictionaries({"type": ROLE, "content": BLOCK}),
    st.fixed_dictionaries({"role": ROLE, "content": BLOCK}),
    st.fixed_dictionaries(
        {"lc": st.just(1), "kwargs": st.fixed_dictionaries({"type": ROLE, "content": BLOCK})}
    ),
    JSON,
)


@PROPS
@given(st.one_of(st.lists(MESSAGE, max_size=6), JSON))
def test_latest_human_text_never_raises(messages: Any) -> None:
    text = latest_human_text(messages)
    assert isinstance(text, str)
    assert len(text) <= MAX_TEXT_CHARS
    _check_terms(extract_terms(text))


@FEW
@given(st.lists(MESSAGE, max_size=4), st.text(max_size=5000), st.lists(MESSAGE, max_size=4))
def test_latest_human_text_finds_the_newest_human_message(
    before: list[Any], text: str, after: list[Any]
) -> None:
    def human(m: Any) -> bool:
        return bool(terms_mod._is_human(m))

    after = [m for m in after if not human(m)]
    messages = [*before, {"type": "human", "content": text}, *after]
    assert latest_human_text(messages) == text[:MAX_TEXT_CHARS]
    blocks = [*before, {"role": "user", "content": [{"type": "text", "text": text}]}, *after]
    assert latest_human_text(blocks) == text[:MAX_TEXT_CHARS]


def test_latest_human_text_survives_hostile_objects() -> None:
    class Explodes:
        def __getattr__(self, name: str) -> Any:
            raise RuntimeError("boom")

    deep: list[Any] = ["x"]
    for _ in range(5000):
        deep = [deep]
    assert latest_human_text([Explodes()]) == ""
    assert latest_human_text([{"type": "human", "content": deep}]) == ""
    assert latest_human_text("human") == ""
    assert latest_human_text(None) == ""  # type: ignore[arg-type]


# ---------------------------------------------------------------- cursors

FIELDS = {"before": int}


@PROPS
@given(st.text(max_size=600))
@example("")
@example(".")
@example("e30.")  # base64 of "{}" without a MAC
@example("W10.AAAA")
@example("\x00.\x00")
@example("é.é")
def test_decode_cursor_of_any_text_is_a_position_or_a_cursor_error(token: str) -> None:
    try:
        position = decode_cursor(token, "jobs", FIELDS)
    except CursorError as exc:
        assert str(exc).startswith("invalid cursor")
    else:
        assert set(position) == {"before"} and type(position["before"]) is int


POSITION = st.dictionaries(
    st.text(max_size=10), st.one_of(st.integers(), st.text(max_size=30)), max_size=4
)


@PROPS
@given(st.text(max_size=20), POSITION, st.text(max_size=30))
def test_cursor_round_trip(kind: str, position: dict[str, int | str], scope: str) -> None:
    token = encode_cursor(kind, position, scope=scope)
    assert re.fullmatch(r"[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+", token)  # URL-safe as is
    # Tokens are capped (a ?cursor= longer than that is rejected unread); positions of
    # real lists are a few ints and short keys, see test_real_positions_fit_the_cap.
    assume(len(token) <= MAX_CURSOR_CHARS)
    fields = {k: type(v) for k, v in position.items()}
    assert decode_cursor(token, kind, fields, scope=scope) == position
    with pytest.raises(CursorError):
        decode_cursor(token, kind + "x", fields, scope=scope)
    with pytest.raises(CursorError):
        decode_cursor(token, kind, fields, scope=scope + "x")  # another tenant or filter


REAL_POSITION = st.one_of(
    # /jobs, /leads, /companies: bigint keys and scores.
    st.fixed_dictionaries({"before": st.integers(0, 2**63 - 1)}),
    st.fixed_dictionaries(
        {"score": st.integers(-(2**63), 2**63 - 1), "company_id": st.integers(0, 2**63 - 1)}
    ),
    # /companies by name: a lowercased registry name (ACRA names are printable ASCII, well
    # under 200 characters).
    st.fixed_dictionaries(
        {
            "name_key": st.text(alphabet=string.printable, max_size=200),
            "company_id": st.integers(0, 2**63 - 1),
        }
    ),
)


@PROPS
@given(REAL_POSITION, st.text(max_size=60))
def test_real_positions_fit_the_cap(position: dict[str, int | str], tenant: str) -> None:
    # A cursor the server issues for a real list must never be one decode_cursor refuses
    # as too long.
    scope = scope_of(tenant, status="queued", bucket="high")
    token = encode_cursor("companies_by_name", position, scope=scope)
    assert len(token) <= MAX_CURSOR_CHARS
    fields = {k: type(v) for k, v in position.items()}
    assert decode_cursor(token, "companies_by_name", fields, scope=scope) == position


@PROPS
@given(
    st.integers(min_value=0, max_value=2**63 - 1),
    st.data(),
)
def test_tampered_cursor_is_rejected_or_unchanged(before: int, data: st.DataObject) -> None:
    token = encode_cursor("jobs", {"before": before})
    i = data.draw(st.integers(0, len(token) - 1), label="index")
    ch = data.draw(st.sampled_from(string.ascii_letters + string.digits + "-_.=+/"), label="char")
    assume(token[i] != ch)
    tampered = token[:i] + ch + token[i + 1 :]
    try:
        position = decode_cursor(tampered, "jobs", FIELDS)
    except CursorError:
        return
    # Only a change to base64 padding bits (which decode to the same bytes) can pass.
    assert position == {"before": before}


@given(st.sampled_from([True, 1.5, "7", None, [1], {"a": 1}]))
def test_cursor_with_wrong_field_type_is_rejected(value: Any) -> None:
    token = encode_cursor("jobs", {"before": value})
    with pytest.raises(CursorError):
        decode_cursor(token, "jobs", FIELDS)
