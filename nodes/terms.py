"""Take industry terms out of a chat message (pure text processing, no database).

``latest_human_text`` reads the newest human message in whatever shape agent-chat-ui,
the LangGraph SDKs or langchain_core send; ``extract_terms`` turns it into a short list
of lowercase industry terms ("Manufacturing, logistics and F&B" -> ["manufacturing",
"logistics", "f&b"]). Chit-chat, links and questions to the assistant give no terms, so
the chat can answer them without searching. Neither function raises on any input.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

MAX_TEXT_CHARS = 2_000
MAX_TERMS = 10
MIN_TERM_CHARS = 2
MAX_TERM_CHARS = 60
_MAX_DEPTH = 6
_HUMAN_ROLES = frozenset({"human", "user"})

# Names that contain "and"/"&" but are one industry: kept whole instead of split.
_KEEP_WHOLE = (
    "food and beverage",
    "oil and gas",
    "arts and entertainment",
    "research and development",
    "repair and maintenance",
    "wholesale and retail",
)
# Stand-ins for the spaces and "&" of a kept-whole name while the message is split
# (control characters, so they cannot come from the cleaned text itself).
_KEEP_SPACE, _KEEP_AMP = "\x00", "\x01"
_LINK = "\x02"  # marks where a URL or e-mail address was

# Whole-message and segment filters.
_URL = re.compile(
    r"(?:https?://|ftp://|www\.)\S+"
    r"|\S+@\S+\.\S+"
    r"|\b[\w-]+(?:\.[\w-]+)*\.(?:com|net|org|io|co|sg|edu|gov|info|biz|ai|app)\b\S*",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(r"[,;\n\r\t/|&+!?]+|\.(?:\s|$)+|\s(?:and|or|plus)\s|\s*:\s+|\s-+\s")
_AMPERSAND_WORD = re.compile(r"\b([a-z])\s*&\s*([a-z])\b")  # f&b, r&d, m&e
_SPACE = re.compile(r"\s+")
_NOT_TERM_CHAR = re.compile(r"[^\w\s&'-]+")
_EDGE_PUNCT = re.compile(r"^[\s&'_-]+|[\s&'_-]+$")
_LETTER = re.compile(r"[^\W\d_]")
_CODE = re.compile(r"[0-9]{2,5}")

# Phrases that introduce a search ("can you find", "industry:"), stripped from a segment's start.
_LEAD_IN = re.compile(
    r"^(?:"
    r"(?:hi|hello|hey|ok|okay|so|now|then|also|and|please|pls|plz|kindly)\b"
    r"|(?:can|could|would|will)\s+(?:you|u)\b"
    r"|(?:i|we)\s*(?:'m|am|are|'re)?\s*(?:want|need|would like|'d like|like|looking for"
    r"|searching for|interested in)(?:\s+to)?\b"
    r"|help\s+me\b"
    r"|(?:please\s+)?(?:find|show|search|list|get|give|fetch|look up|lookup|look for|pull"
    r"|display|return|bring up)(?:\s+(?:me|us))?(?:\s+for)?\b"
    r"|looking\s+for\b|searching\s+for\b|interested\s+in\b"
    r"|what\s+about\b|how\s+about\b|and\s+also\b"
    r"|do\s+you\s+have\b|are\s+there\b|is\s+there\b|any\b"
    r"|(?:a\s+)?list\s+of\b|leads?\s+(?:in|for|from)\b|leads\b"
    r"|(?:companies|company|firms|businesses|players)\s+(?:in|for|doing|that do)\b"
    r"|(?:industry|industries|sector|sectors|ssic|category|vertical)\b\s*[:=-]?"
    r")\s*",
    re.IGNORECASE,
)

# A segment that is still a question after its lead-in is stripped is not an industry.
_QUESTION = re.compile(
    r"^(?:who|whom|whose|what|what's|whats|when|where|why|how|which|is|are|am|was|were"
    r"|do|does|did|can|could|would|will|should|shall|may|might)\b",
    re.IGNORECASE,
)

# Words that never make an industry on their own or add nothing to one.
_FILLER = re.compile(
    r"\b(?:companies|company|firms|firm|businesses|business|enterprises|corporations"
    r"|players|vendors|providers|leads|lead|prospects|please|pls|plz|kindly"
    r"|in\s+singapore|singapore-based|singapore|sg|pte\.?\s+ltd\.?|pte|ltd|llp|inc"
    r"|the|some|all|me|us|list\s+of|local|top|best|more|other|related|etc)\b",
    re.IGNORECASE,
)
# Small words dropped from a term's edges ("in manufacturing" -> "manufacturing").
_EDGE_WORDS = frozenset(
    "a an any in of for on at to from with by into within about that which who whose "
    "are is be do does doing than as also and or plus".split()
)
# A segment made only of these is chit-chat, an acknowledgement or a request for help.
_CHITCHAT = frozenset(
    "ok okay k kk okie sure fine yes yeah yep yup no nope nah thanks thank thx ty tq "
    "cheers you u hi hello hey hiya yo there good morning afternoon evening night bye "
    "goodbye see later cool great nice awesome perfect excellent alright right got it "
    "lol haha hmm hm um uh wow oh help pls please much very lot so just again welcome "
    "test testing i we me my our".split()
)


def _to_text(content: Any, depth: int = 0) -> str:
    """Return the text of message content: a string or (nested) lists of text blocks."""
    if isinstance(content, str):
        return content
    if depth >= _MAX_DEPTH:
        return ""
    if isinstance(content, Sequence) and not isinstance(content, bytes | bytearray):
        parts = [_to_text(block, depth + 1) for block in content[:50]]
        return "\n".join(p for p in parts if p)
    if isinstance(content, dict):
        kind = content.get("type")
        if kind in (None, "text") and isinstance(content.get("text"), str):
            return str(content["text"])
        if kind in (None, "text") and "content" in content:
            return _to_text(content["content"], depth + 1)
    return ""  # images, files, tool calls: not text


def _field(message: Any, name: str) -> Any:
    """Return a field of a dict message, a serialized one ({"kwargs": ...}) or an object."""
    if isinstance(message, dict):
        value = message.get(name)
        kwargs = message.get("kwargs")
        if value is None and isinstance(kwargs, dict):
            value = kwargs.get(name)
        return value
    return getattr(message, name, None)


def _is_human(message: Any) -> bool:
    """Return whether a message was written by the user."""
    for name in ("type", "role"):
        value = _field(message, name)
        if isinstance(value, str) and value.lower() in _HUMAN_ROLES:
            return True
    if isinstance(message, dict):
        ids = message.get("id")
        return isinstance(ids, list) and bool(ids) and ids[-1] == "HumanMessage"
    return False


def latest_human_text(messages: Sequence[Any]) -> str:
    """Return the text of the latest human message ("" when there is none)."""
    if not isinstance(messages, list | tuple):
        return ""
    for message in reversed(messages):
        try:
            if _is_human(message):
                return _to_text(_field(message, "content"))[:MAX_TEXT_CHARS]
        except Exception:  # client-supplied objects may raise on attribute access
            return ""
    return ""


def _clean(text: str) -> str:
    """Return text NFKC-normalized and lowercased, control and format characters removed."""
    text = unicodedata.normalize("NFKC", text[: MAX_TEXT_CHARS * 2])[:MAX_TEXT_CHARS]
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in "\n\r\t":
            out.append("\n")
        elif cat in ("Cc", "Cs", "Co", "Cn"):
            out.append(" ")
        elif cat != "Cf":  # zero-width and direction marks vanish
            out.append(ch)
    return "".join(out).lower()


def _term(segment: str) -> str | None:
    """Return the industry term in one segment of a message, or None."""
    seg = _SPACE.sub(" ", segment).strip()
    for _ in range(6):  # lead-ins can stack: "ok, can you please find me ..."
        stripped = _LEAD_IN.sub("", seg, count=1).strip()
        if stripped == seg:
            break
        seg = stripped
    if not seg or _QUESTION.match(seg):
        return None
    seg = _NOT_TERM_CHAR.sub(" ", seg)
    seg = _FILLER.sub(" ", seg)
    words = _SPACE.sub(" ", seg).strip().split(" ")
    # A lone letter carries no industry ("a b a b ..." matched "F&B" through the stemmer).
    words = [w for w in words if len(w) > 1 or not w.isalpha()] or words[:1]
    while words and (words[0] in _EDGE_WORDS or words[0].isdigit()) and len(words) > 1:
        words.pop(0)
    while words and (words[-1] in _EDGE_WORDS or words[-1].isdigit()) and len(words) > 1:
        words.pop()
    if words and words[0] in _EDGE_WORDS:
        return None
    term = _EDGE_PUNCT.sub("", " ".join(words))
    if not term or all(w in _CHITCHAT for w in _SPACE.split(term)):
        return None
    if _CODE.fullmatch(term):
        return term
    if not _LETTER.search(term) or len(term) < MIN_TERM_CHARS:
        return None
    if len(term) > MAX_TERM_CHARS:
        term = term[:MAX_TERM_CHARS].rsplit(" ", 1)[0].strip()
    return term if len(term) >= MIN_TERM_CHARS else None


# "more", "show me 20 more", "next 10", "load more please": the next page of the search.
_MORE = re.compile(
    r"(?:(?:ok|okay|yes|and|then|now|please|pls)[\s,]+)*"
    r"(?:(?:can|could)\s+(?:you|u)\s+)?"
    r"(?:(?:show|give|load|get|list|see|display|fetch)(?:\s+(?:me|us))?\s+)?"
    r"(?:(?:the\s+)?next(?:\s+(?P<next>\d{1,3}))?(?:\s+(?:page|one|ones))?"
    r"|(?:(?P<more>\d{1,3})\s+)?more)"
    r"(?:\s+(?:please|pls|results|leads|companies|of them|rows))*"
)
MORE_PAGE = 10
MAX_MORE_PAGE = 50


def more_request(text: str) -> int | None:
    """Return how many more leads a message asks for ("more" -> 10), or None if it doesn't."""
    if not isinstance(text, str) or len(text) > 100:
        return None
    cleaned = _SPACE.sub(" ", re.sub(r"[^\w\s,]", " ", _clean(text))).strip(" ,")
    match = _MORE.fullmatch(cleaned)
    if not match:
        return None
    count = match.group("next") or match.group("more")
    return min(max(int(count), 1), MAX_MORE_PAGE) if count else MORE_PAGE


def extract_terms(text: str) -> list[str]:
    """Return up to 10 lowercase industry terms named in a message ([] for chit-chat)."""
    if not isinstance(text, str) or not text.strip():
        return []
    text = _clean(text)
    for name in _KEEP_WHOLE:
        kept = name.replace(" ", _KEEP_SPACE)
        text = text.replace(name, kept).replace(name.replace(" and ", " & "), kept)
    text = _AMPERSAND_WORD.sub(r"\1" + _KEEP_AMP + r"\2", text)
    text = _URL.sub(_LINK, text)
    terms: list[str] = []
    for segment in _SEPARATOR.split(text):
        if _LINK in segment:
            continue  # a link or an address is not an industry, nor is the text around it
        segment = segment.replace(_KEEP_SPACE, " ").replace(_KEEP_AMP, "&")
        term = _term(segment)
        if term:
            if term not in terms:
                terms.append(term)
            if len(terms) >= MAX_TERMS:
                break
    return terms
