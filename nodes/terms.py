"""Take industry terms out of a chat message (pure text processing, no database).

``latest_human_text`` reads the newest human message in whatever shape agent-chat-ui,
the LangGraph SDKs or langchain_core send. ``extract`` splits it into industry terms and
names everything it set aside, so nothing the user said silently disappears:

- generic nouns ("companies", "firms", "shops", "outlets", "contractors", "services") and
  role nouns ("manufacturers", "suppliers", "retailers", which narrow an industry to making,
  wholesale or retail): kept in ``Term.full`` so the resolver can still match a phrase
  that needs them ("coffee shops", "holding companies"), left out of ``Term.text``;
- qualifiers the search does not apply (yet): places ("in Jurong"), incorporation dates
  ("incorporated after 2015"), size ("SMEs", "with over 50 employees"), status ("live
  ones") and other clauses ("with a website"), as ``SetAside`` items with a kind.

"software companies incorporated after 2015" gives the term "software" (full "software
companies") and the date qualifier "incorporated after 2015" (op "after", value "2015").
A message that is only generic words ("services", "companies") gives a term with empty
``text``: the resolver answers it with a question. Chit-chat, links and questions to the
assistant give no terms. "IT" (upper case, or before a word like "companies") is the
industry, not the pronoun. ``extract_terms`` returns just the terms' text. Neither
function raises on any input.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from db.vocabulary import compound_phrases

MAX_TEXT_CHARS = 2_000
MAX_TERMS = 10
MIN_TERM_CHARS = 2
MAX_TERM_CHARS = 60
_MAX_DEPTH = 6
_HUMAN_ROLES = frozenset({"human", "user"})

# Names that contain "and"/"&" but are one industry are kept whole instead of split: these
# and every such phrase of the curated vocabulary (db/data/vocabulary/sales_synonyms.csv).
_KEEP_WHOLE = (
    "food and beverage",
    "oil and gas",
    "arts and entertainment",
    "research and development",
    "repair and maintenance",
    "wholesale and retail",
    "small and medium",
    "import and export",
    "mechanical and electrical",
)
# Stand-ins while the message is split (control characters or a private-use character,
# so they cannot come from the cleaned text itself).
_KEEP_SPACE, _KEEP_AMP = "\x00", "\x01"
_LINK = "\x02"  # marks where a URL or e-mail address was
_IT = "\ue000"  # "IT" the industry (not the pronoun)

# Whole-message and segment filters.
_URL = re.compile(
    r"(?:https?://|ftp://|www\.)\S+"
    r"|\S+@\S+\.\S+"
    r"|\b[\w-]+(?:\.[\w-]+)*\.(?:com|net|org|io|co|sg|edu|gov|info|biz|ai|app)\b\S*",
    re.IGNORECASE,
)
_CJK = "\u3400-\u9fff\uf900-\ufaff"
_SEPARATOR = re.compile(
    r"[,;\n\r\t/|&+!?\u3001\u3002\uff1b]+|\.(?:\s|$)+|\s(?:and|or|plus|dan|atau)\s|\s*:\s+|\s-+\s"
    rf"|(?<=[{_CJK}])(?:和|与|及|或|跟|以及)(?=[{_CJK}])"
)
_AMPERSAND_WORD = re.compile(r"\b([a-z])\s*&\s*([a-z])\b")  # f&b, r&d, m&e
_UPPER_IT = re.compile(r"(?<![A-Za-z0-9&])(?:IT|I\.T\.?)(?![A-Za-z0-9&])")
_SPACE = re.compile(r"\s+")
_NOT_TERM_CHAR = re.compile(r"[^\w\s&'\ue000-]+")
_EDGE_PUNCT = re.compile(r"^[\s&'_-]+|[\s&'_-]+$")
_LETTER = re.compile(r"[^\W\d_]")
_CODE = re.compile(r"[0-9]{2,5}")
_LONE_LETTER = re.compile(r"[^\W\d_]", re.ASCII)

# Phrases that introduce a search ("can you find", "industry:"), stripped from a segment's start.
_LEAD_IN = re.compile(
    r"^(?:"
    r"(?:hi|hello|hey|ok|okay|so|now|then|also|and|please|pls|plz|kindly)\b"
    r"|(?:can|could|would|will)\s+(?:you|u)\b"
    r"|(?:i|we)\s*(?:'m|am|are|'re)?\s*(?:want|need|would like|'d like|like|looking for"
    r"|searching for|interested in|am targeting|are targeting|target|sell to|selling to)"
    r"(?:\s+to)?\b"
    r"|help\s+me\b|(?:sell|selling|supply|supplying)\s+to\b"
    r"|(?:please\s+)?(?:find|show|search|list|get|give|fetch|look up|lookup|look for|pull"
    r"|display|return|bring up|target|targeting)(?:\s+(?:me|us))?(?:\s+for)?\b"
    r"|looking\s+for\b|searching\s+for\b|interested\s+in\b"
    r"|what\s+about\b|how\s+about\b|and\s+also\b"
    r"|do\s+you\s+have\b|are\s+there\b|is\s+there\b|any\b"
    r"|where\s+(?:can|could|do|should)\s+(?:i|we)\s+(?:find|get|buy|source)\b"
    r"|(?:a\s+)?list\s+of\b|leads?\s+(?:in|for|from)\b|leads\b"
    r"|(?:companies|company|firms|businesses|players)\s+(?:in|for|doing|that\s+do|that\s+does"
    r"|which\s+do|that\s+are\s+in|in\s+the)\b"
    r"|(?:industry|industries|sector|sectors|ssic|category)\b\s*[:=-]?"
    r"|(?:saya\s+)?(?:nak\s+|mahu\s+|hendak\s+)?(?:cari|carikan|tolong\s+cari|senarai)\b"
    r")\s*",
    re.IGNORECASE,
)
_CJK_LEAD_IN = re.compile(
    r"^(?:请|麻烦)?(?:帮我|给我|我想|我要|我们想|我们要)?(?:找一下|找找|寻找|查找|搜索|搜|找|看看|列出)?"
    r"(?:一些|所有|哪些|有没有|有哪些)?(?:在)?(?:新加坡|本地)?(?:的)?"
)
_CJK_GENERIC = re.compile(r"(?:的)?(?:有限公司|公司|企业|集团|行业|产业|领域|商家|们)+$")
_CJK_ROLE = re.compile(r"(?:专卖店|商店|店铺|店|铺|工厂|厂|供应商|经销商|批发商|代理商)$")

# "industry: retail" - a label, not a too-broad word.
_LABEL = re.compile(
    r"(?:^|(?<=[\s,;]))(?:industry|industries|sector|sectors|category|categories|vertical"
    r"|verticals|ssic)\s*[:=]\s*"
)
# A segment that is a command about the results or a job is not an industry.
_COMMAND = re.compile(
    r"^(?:cancel|stop|pause|resume|sort|filter|next|previous|prev|page|refresh|retry|undo"
    r"|reset|clear|restart|download|explain|why|more\s+results|show\s+more|load\s+more)\b",
    re.IGNORECASE,
)
# SQL or shell syntax is not an industry ("' UNION SELECT * FROM companies --").
_CODE_LIKE = re.compile(
    r"\b(?:select|union|insert|update|delete|drop|alter|truncate)\b.*"
    r"\b(?:from|table|into|set|where|database)\b|--\s*$|/\*|\*/|\b1\s*=\s*1\b",
    re.IGNORECASE,
)
# A segment that is still a question after its lead-in is stripped is not an industry.
_QUESTION = re.compile(
    r"^(?:who|whom|whose|what|what's|whats|when|where|why|how|which|is|are|am|was|were"
    r"|do|does|did|can|could|would|will|should|shall|may|might)\b",
    re.IGNORECASE,
)

# Words that add nothing to an industry and are dropped without a note.
_FILLER = re.compile(
    r"\b(?:please|pls|plz|kindly|leads|lead|prospects|prospect|results"
    r"|pte\.?\s+ltd\.?|pte|ltd|llp|inc|sdn\s+bhd|bhd"
    r"|the|some|all|me|us|list\s+of|local|top|best|more|other|related|etc|various|any"
    r"|only|just|solely|exclusively"
    r"|type\s+of|types\s+of|kind\s+of|kinds\s+of|sort\s+of|based)\b",
    re.IGNORECASE,
)
# Nouns that say "a business" without saying which: set aside (Term.generic). A segment of
# only these is too broad. Role nouns narrow the industry to making, wholesale or retail.
GENERIC_NOUNS = frozenset(
    "companies company cos firms firm businesses business biz enterprises enterprise "
    "corporations corporation corp players player vendors vendor providers provider services "
    "service solutions solution specialists specialist contractors contractor outfits outfit "
    "agencies agency agents agent industry industries sector sectors segment space field "
    "organisations organisation organizations organization orgs org entities entity "
    "establishments establishment operators operator people folks guys owners owner bosses "
    "boss towkay towkays outlets outlet centres centre centers center practices practice "
    "practitioners professionals stalls stall workshops workshop houses house syarikat "
    "perniagaan firma industri sektor kontraktor perkhidmatan".split()
)
# Size words that, alone, name a kind of company but no industry ("SMEs"): too broad.
_BROAD_SIZES = frozenset(
    "sme smes sme's msme msmes startups startup start-ups start-up mncs mnc multinationals "
    "multinational".split()
)
ROLE_NOUNS = {
    **dict.fromkeys(
        "manufacturers manufacturer manufacturing manufacture makers maker factories factory "
        "producers producer fabricators fabricator oems oem pengeluar kilang".split(),
        "manufacture",
    ),
    **dict.fromkeys(
        "wholesalers wholesaler wholesale wholesaling distributors distributor suppliers "
        "supplier importers importer exporters exporter traders trader stockists stockist "
        "merchants merchant pembekal pengedar".split(),
        "wholesale",
    ),
    **dict.fromkeys(
        "retailers retailer retail retailing shops shop stores store boutiques kedai".split(),
        "retail",
    ),
    # Chinese role suffixes, split off a word by extraction ("家具店": furniture + shop).
    **dict.fromkeys("专卖店 商店 店铺 店 铺".split(), "retail"),
    **dict.fromkeys("工厂 厂".split(), "manufacture"),
    **dict.fromkeys("供应商 经销商 批发商 代理商".split(), "wholesale"),
}
# Small words dropped from a term's edges ("in manufacturing" -> "manufacturing").
_EDGE_WORDS = frozenset(
    "a an any in of for on at to from with by into within about that which who whose "
    "are is be do does doing than as also and or plus di dan".split()
)
# A segment made only of these is chit-chat, an acknowledgement or a request for help.
_CHITCHAT = frozenset(
    "ok okay k kk okie sure fine yes yeah yep yup no nope nah thanks thank thx ty tq "
    "cheers you u hi hello hey hiya yo there good morning afternoon evening night bye "
    "goodbye see later cool great nice awesome perfect excellent alright right got it "
    "lol haha hmm hm um uh wow oh help pls please much very lot so just again welcome "
    "test testing i we me my our".split()
)
# Words after "IT" that make it the industry: "it companies", "it services".
_IT_HEAD = re.compile(
    r"\bit(?=\s+(?:companies|company|firms|firm|businesses|services|service|consultancy"
    r"|consulting|consultants|solutions|support|sector|industry|outsourcing|infrastructure"
    r"|managed|vendors|vendor|hardware|security|training|staffing|manpower|professionals"
    r"|department|shops|shop|startups|players|providers|integrators|integration|systems"
    r"|equipment|products|distributors|contractors|people)\b)"
)

# ---------------------------------------------------------------- qualifiers
_YEAR = r"(?:19|20)[0-9]{2}"
_DATE = re.compile(
    r"\b(?:(?:that|which|who)\s+)?(?:(?:were|was|are|is|got)\s+)?"
    r"(?:incorporated|registered|founded|established|set\s+up|started|formed|opened|created"
    r"|incorporation|registration|inc)?\s*"
    rf"(?P<op>on\s+or\s+after|on\s+or\s+before|after|before|since|from|between|during|in"
    rf"|prior\s+to|post|pre|until|till|by|>=|<=|>|<)?[\s-]*(?:the\s+year\s+)?"
    rf"(?P<y1>{_YEAR})(?:'?s)?(?:\s*(?:-|\u2013|to|and|until|till)\s*(?P<y2>{_YEAR}))?"
    r"(?:\s+(?P<tail>onwards?|and\s+(?:later|after|above|beyond|earlier|before)"
    r"|or\s+(?:later|after|earlier|before)))?\b"
)
# "between 2010 and 2015" is one qualifier, not two segments.
# "3 or more officers", "score 70 and above": one phrase, not two segments split at "or".
_OR_MORE = re.compile(
    r"\b[0-9]{1,3}\s+(?:or|and)\s+(?:more|above|up|over|higher|better|less|below|under"
    r"|lower|fewer)\b",
    re.IGNORECASE,
)
_YEAR_RANGE = re.compile(rf"\bbetween\s+{_YEAR}\s+and\s+{_YEAR}\b")
_RELATIVE_DATE = re.compile(
    r"\b(?:(?:that|which)\s+(?:were|are)\s+)?(?:incorporated|registered|founded|established"
    r"|set\s+up|started|formed)?\s*(?:in\s+|within\s+)?(?:the\s+)?(?P<op>last|past|previous)"
    r"\s+(?P<n>[0-9]+|one|two|three|four|five|six|seven|eight|nine|ten)\s+years?\b"
    r"|\b(?P<op2>less|fewer|more|older|younger|newer)\s+than\s+(?P<n2>[0-9]+)\s+years?"
    r"(?:\s+old)?\b"
    r"|\b(?:newly|recently)\s+(?:incorporated|registered|set\s+up|formed|established"
    r"|founded|started)\b"
)
# A lead score range ("with high scores", "medium-scoring", "scoring 80 or more", "scoring
# below 70"): a filter of the leads shown (nodes.intents), never an industry word.
_SCORE = re.compile(
    r"\b(?:(?:with|having)\s+)?(?:(?:only|just)\s+)?(?:the\s+|a\s+)?(?:high(?:est)?|hot|strong|top"
    r"|best|medium|mid|low(?:est)?|weak|cold)"
    r"[\s-]+(?:scor(?:es?|ing|ers|ed)|rated)(?:\s+(?:ones|leads|only))*\b"
    r"|\b(?:(?:only|just)\s+)?(?:the\s+)?hot(?:test)?\s+(?:leads|prospects)\b"
    r"|\b(?:(?:with|having)\s+)?(?:a\s+)?(?:lead\s+)?(?:scores?|scoring|scored)\s+(?:of\s+)?"
    r"(?:(?:above|over|more\s+than|at\s+least|>=?|min(?:imum)?|below|under|less\s+than"
    r"|at\s+most|<=?|max(?:imum)?)\s+)?(?:100|[1-9]?[0-9])(?![0-9])"
    r"(?:\s*(?:or\s+(?:more|above|higher|better|less|below|lower)|and\s+(?:above|up|over|higher"
    r"|below|under|lower)|plus))?"
)
_SIZE = re.compile(
    r"\b(?:with\s+|having\s+)?(?:(?:more|less|fewer)\s+than|over|under|above|below|at\s+least"
    r"|at\s+most|up\s+to|>=|<=|>|<)\s*(?P<n>[0-9][0-9,]*)\s*\+?\s*"
    r"(?:employees|employee|staff|people|headcount|workers|officers|pax)\b"
    r"|\b(?:with\s+)?(?P<n2>[0-9][0-9,]*)\s*(?:\+|(?:-|to)\s*[0-9][0-9,]*"
    r"|or\s+more|and\s+(?:above|more))?\s*"
    r"(?:employees|staff|headcount|workers)\b"
    r"|\b(?:with\s+|having\s+)?(?P<n3>[0-9]{1,3})\s*(?:\+|or\s+more|and\s+(?:above|more)|plus)?"
    r"\s+(?:officers?|directors?)(?:\s+(?:or\s+more|and\s+(?:above|more)|minimum|at\s+least"
    r"|plus))?\b"
    r"|\b(?:small\s+and\s+medium(?:[\s-]sized)?|small|medium|large|big|mid|midsize|midsized"
    r"|mid-sized|mid-size|smaller|larger|biggest|largest|bigger|sme'?s|smes|sme|msmes|msme"
    r"|startups|startup|start-ups|start-up|mncs|mnc|multinationals|multinational"
    r"|public-listed|publicly\s+listed|listed|family-owned|family-run|well-known|established)\b"
)
_STATUS_WORDS = (
    r"live|active|operating|existing|struck[\s-]+off|dissolved|defunct|dormant|inactive"
    r"|terminated|deregistered|ceased|closed"
)
# A status at the start of a term ("live bakeries") or as a whole segment ("only live ones"),
# not where it is part of the name ("live music", "active wear").
_STATUS = re.compile(
    rf"^(?:only\s+)?(?P<s>{_STATUS_WORDS})\b(?!\s+(?:music|band|bands|events?|entertainment"
    r"|seafood|streaming|performances?|shows?|animals|bait|wear|ingredients?|learning))"
    r"(?:\s+(?:ones|only))?"
    rf"|\b(?:only\s+(?:the\s+)?)?(?P<s2>{_STATUS_WORDS})\s+(?:ones|only)\b"
    rf"|\b(?:that|which|who)\s+(?:are|is)\s+(?:still\s+)?(?P<s3>{_STATUS_WORDS})\b"
)
# What the salesperson sells, not what to search: "construction companies for my cement
# business", "sell POS systems to restaurants" (the buyers are the industry).
_YOURS = re.compile(r"\s(?:for|from|of|with)\s+(?:my|our)\s+(?:own\s+)?(?P<what>.+)$", re.I)
_SELL = re.compile(
    r"^(?:(?:i|we)\s+)?(?:sell(?:s|ing)?|suppl(?:y|ies|ying)|offer(?:s|ing)?|provid(?:e|es|ing)"
    r"|distribut(?:e|es|ing)|market(?:s|ing)?|pitch(?:es|ing)?)\s+(?P<what>.+?)\s+to\s+"
    r"(?:the\s+)?(?P<target>.+)$",
    re.I,
)
# The user's own business on its own ("we install CCTV, who needs it?"): not searched.
_WE_DO = re.compile(
    r"^(?:i|we)\s+(?:(?:also|mainly|only|currently)\s+)?(?:sell|supply|offer|provide|distribute"
    r"|market|install|make|manufacture|produce|build|repair|service)\s+(?P<what>.+)$",
    re.I,
)
_CLAUSE = re.compile(r"\s(?P<c>(?:with|without|having|that|which|who|whose|where)\s+.+)$")
# A clause naming what a business does ("that make furniture", "which provide security
# services", "who are in logistics"): after only a generic noun, its object is the industry.
_VERBS = (
    r"makes?|making|manufactur(?:e|es|ing)"
    r"|produc(?:e|es|ing)|fabricat(?:e|es|ing)|sells?|selling|provides?|providing|offers?"
    r"|offering|does|do|doing|runs?|running|operates?|operating|supplies|supply|supplying"
    r"|distributes?|distributing|imports?|importing|exports?|exporting|installs?|installing"
    r"|repairs?|repairing|services?|servicing|deals?\s+in|dealing\s+in|trades?\s+in"
    r"|trading\s+in|speciali[sz](?:e|es|ing)\s+in|works?\s+in|working\s+in"
)
_ACTIVITY = re.compile(
    rf"(?:that|which|who)\s+(?:(?:are|is)\s+)?(?P<v>{_VERBS}|in)\s+(?P<obj>.+)$",
    re.IGNORECASE,
)
# A question asking who does something ("who makes packaging?", "which companies sell
# solar panels?", "what firms do aircon servicing?"): read as "companies that ...".
ASKED = re.compile(
    r"^(?:(?:so|ok|okay|and|now|hi|hello|hey)[\s,]+)*(?:who|(?:which|what)\s+"
    r"(?P<noun>companies|company|firms|firm|businesses|business|ones|players|suppliers"
    r"|vendors|distributors|manufacturers|contractors|shops|stores|agencies))"
    rf"\s+(?P<rest>(?:(?:are|is|can|could|would|will|might)\s+)?(?:{_VERBS})\s+.+)$",
    re.IGNORECASE,
)
# Places in Singapore (and nearby) a salesperson names; searched as whole words.
_PLACES = (
    "ang mo kio|bedok|bishan|boon lay|bukit batok|bukit merah|bukit panjang|bukit timah"
    "|choa chu kang|clementi|geylang|hougang|jurong east|jurong west|jurong island|jurong"
    "|kallang|kranji|lim chu kang|loyang|mandai|marine parade|pasir ris|pasir panjang"
    "|paya lebar|punggol|queenstown|raffles place|seletar|sembawang|sengkang|serangoon|simei"
    "|tampines|tanjong pagar|tiong bahru|toa payoh|tuas|ubi|woodlands|yishun|kaki bukit"
    "|sungei kadut|chinatown|little india|bugis|harbourfront|sentosa|macpherson|eunos"
    "|kembangan|katong|joo chiat|holland village|buona vista|one-north|one north|changi"
    "|tai seng|defu|admiralty|khatib|yew tee|tengah|cbd|marina bay|novena|outram|rochor"
    "|river valley|dhoby ghaut|bras basah|balestier|upper thomson|thomson|commonwealth"
    "|redhill|telok blangah|jalan besar|aljunied|potong pasir|tanah merah|senoko|benoi"
    "|gul|singapore|singapura|s'pore|spore|sg|malaysia|johor bahru|johor|indonesia|batam"
    "|thailand|vietnam|philippines|hong kong|southeast asia|south east asia|asean|apac"
)
# Words that are a place only after "in", "at", "near"... ("retail in Orchard", not "orchard").
_PLACES_AFTER_PREPOSITION = (
    "orchard|north-east|northeast|north east|east coast|west coast|central|north|south|east"
    "|west|downtown|city|pioneer|alexandra|dover|lavender|expo|china|india|asia"
)
_PLACE = re.compile(
    rf"\b(?:(?:in|at|near|around|within|from|based\s+in|located\s+in|di)\s+(?:the\s+)?)?"
    rf"(?P<p>{_PLACES})\b"
    rf"|\b(?:in|at|near|around|within|from|based\s+in|located\s+in)\s+(?:the\s+)?"
    rf"(?P<p2>{_PLACES_AFTER_PREPOSITION})(?:\s+(?:area|region|side|part))?\b"
)
_NUMBERS = {
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
}


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


@dataclass(frozen=True)
class Term:
    """One industry named in a message."""

    text: str
    """The industry words ("software"); "" when the segment held only generic or role nouns
    ("services", "manufacturing": the resolver then matches ``full``)."""
    full: str
    """The same words with their generic and role nouns ("software companies")."""
    generic: tuple[str, ...] = ()
    """Generic and role nouns set aside ("companies",)."""
    role: str = ""
    """manufacture, wholesale or retail when a role noun narrows the industry."""

    @property
    def label(self) -> str:
        """Return the words naming the term: its industry words, else its role nouns or
        full words ("wholesale" of "wholesale companies", "services")."""
        if self.text:
            return self.text
        roles = [w for w in self.full.split() if w in ROLE_NOUNS]
        return " ".join(roles) or self.full


@dataclass(frozen=True)
class SetAside:
    """A part of the message that is not an industry word, kept for the conversation."""

    kind: str
    """location, date, size, status, score, qualifier, generic or yours (what the user
    sells: "for my cement business")."""
    text: str
    """The words as typed (lowercased): "incorporated after 2015", "in jurong"."""
    term: str = ""
    """The term it came with ("" when alone)."""
    op: str = ""
    """For dates: after, before, in, between, since, within_years, older_than_years, ..."""
    value: str = ""
    """Normalized value: "2015", "2010-2015", "jurong", "50", "live"."""


@dataclass(frozen=True)
class Extraction:
    """Everything taken out of one message."""

    terms: tuple[Term, ...] = ()
    set_aside: tuple[SetAside, ...] = ()

    @property
    def texts(self) -> list[str]:
        """Return each term's industry words (its full words when it has no others)."""
        return list(dict.fromkeys(t.label for t in self.terms))


def _clean(text: str) -> str:
    """Return text NFKC-normalized and lowercased, control and format characters removed."""
    text = unicodedata.normalize("NFKC", text[: MAX_TEXT_CHARS * 2])[:MAX_TEXT_CHARS]
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in "\n\r\t" or cat == "Cc":
            out.append("\n")  # a control character ends a term: "bak\x00ery" is no "bakery"
        elif ch == _IT:
            out.append(ch)
        elif cat in ("Cs", "Co", "Cn"):
            out.append(" ")
        elif cat != "Cf":  # zero-width and direction marks vanish
            out.append(ch)
    return "".join(out).lower()


def _with_it(text: str) -> str:
    """Return the message cleaned, "IT" the industry marked by a private-use stand-in.

    "IT" in capitals, or "it" before a word like "companies", is the industry; any other
    "it" stays the pronoun ("got it").
    """
    raw = text[: MAX_TEXT_CHARS * 2].replace(_IT, " ")
    return _IT_HEAD.sub(_IT, _clean(_UPPER_IT.sub(_IT, raw)))


@lru_cache(maxsize=1)
def _keep_whole() -> re.Pattern[str]:
    # "m and e" is left to the letter rule, which keeps "m&e" as typed.
    names = sorted(
        (n for n in {*_KEEP_WHOLE, *compound_phrases()} if all(len(w) > 1 for w in n.split())),
        key=len,
        reverse=True,
    )
    alternatives = []
    for name in names:
        words = [re.escape(w) for w in name.split()]
        pattern = r"\s+".join(words).replace(r"\s+and\s+", r"\s*(?:and|&)\s*")
        alternatives.append(pattern)
    return re.compile(r"(?<![\w&])(?:" + "|".join(alternatives) + r")(?![\w&])")


def _protect(match: re.Match[str]) -> str:
    return _SPACE.sub(_KEEP_SPACE, match.group(0).replace("&", " and "))


def _year_op(op: str | None, tail: str | None) -> str:
    if tail:
        return (
            "after"
            if any(w in tail for w in ("later", "after", "above", "beyond", "onward"))
            else "before"
        )
    op = _SPACE.sub(" ", (op or "").strip())
    return {
        "on or after": "after",
        "post": "after",
        ">": "after",
        ">=": "after",
        "from": "since",
        "on or before": "before",
        "prior to": "before",
        "pre": "before",
        "<": "before",
        "<=": "before",
        "until": "before",
        "till": "before",
        "by": "before",
        "during": "in",
    }.get(op, op or "in")


def _qualifiers(seg: str) -> tuple[str, list[SetAside]]:
    """Remove the qualifiers from a segment; return what is left and what was set aside."""
    found: list[SetAside] = []

    def cut(m: re.Match[str], kind: str, op: str = "", value: str = "") -> str:
        found.append(SetAside(kind, _SPACE.sub(" ", m.group(0)).strip(), "", op, value))
        return " "

    def date(m: re.Match[str]) -> str:
        y1, y2 = m.group("y1"), m.group("y2")
        if y2:
            return cut(m, "date", "between", f"{y1}-{y2}")
        return cut(m, "date", _year_op(m.group("op"), m.group("tail")), y1)

    def relative(m: re.Match[str]) -> str:
        if m.group("op"):
            n = _NUMBERS.get(m.group("n"), m.group("n"))
            return cut(m, "date", "within_years", n)
        if m.group("op2"):
            older = m.group("op2") in ("more", "older")
            return cut(m, "date", "older_than_years" if older else "within_years", m.group("n2"))
        return cut(m, "date", "recent")

    def size(m: re.Match[str]) -> str:
        n = (m.group("n") or m.group("n2") or m.group("n3") or "").replace(",", "")
        return cut(m, "size", value=n or _SPACE.sub(" ", m.group(0)).strip())

    def status(m: re.Match[str]) -> str:
        word = m.group("s") or m.group("s2") or m.group("s3") or ""
        return cut(m, "status", value=_SPACE.sub(" ", word))

    def place(m: re.Match[str]) -> str:
        return cut(m, "location", value=m.group("p") or m.group("p2") or "")

    def score(m: re.Match[str]) -> str:
        return cut(m, "score", value=_SPACE.sub(" ", m.group(0)).strip())

    seg = _SCORE.sub(score, seg)
    seg = _DATE.sub(date, seg)
    seg = _RELATIVE_DATE.sub(relative, seg)
    seg = _SIZE.sub(size, seg)
    seg = _PLACE.sub(place, seg)
    seg = _STATUS.sub(status, _SPACE.sub(" ", seg).strip())
    clause = _CLAUSE.search(seg)
    if clause:
        activity = _ACTIVITY.match(clause.group("c"))
        head = _SPACE.sub(" ", seg[: clause.start()]).strip().lower().split(" ")
        if activity and all(w in GENERIC_NOUNS or w in ROLE_NOUNS for w in head):
            # "companies that make furniture": the clause is the industry, the noun is not;
            # a role noun stays ("suppliers that sell steel": "steel suppliers").
            verb = activity.group("v").lower()
            making = verb.startswith(("make", "manufactur", "produc", "fabricat"))
            roles = [w for w in head if w in ROLE_NOUNS and w not in GENERIC_NOUNS]
            role = " ".join(roles) or ("manufacturing" if making else "")
            return f"{activity.group('obj')} {role}", found
        found.append(SetAside("qualifier", clause.group("c").strip()))
        seg = seg[: clause.start()]
    return seg, found


def _strip_lead_in(seg: str) -> str:
    for _ in range(6):  # lead-ins can stack: "ok, can you please find me ..."
        stripped = _LEAD_IN.sub("", seg, count=1).strip()
        if stripped == seg:
            break
        seg = stripped
    return seg


def _cjk_words(word: str, generic: list[str]) -> list[str]:
    """Strip Chinese lead-ins and generic suffixes ("帮我找物流公司" -> "物流"), and split off
    a role suffix as a word of its own ("家具店" -> "家具", "店": a furniture shop)."""
    core = _CJK_LEAD_IN.sub("", word, count=1) or word
    m = _CJK_GENERIC.search(core)
    if m and m.start() > 0:
        generic.append(m.group(0))
        core = core[: m.start()]
    m = _CJK_ROLE.search(core)
    if m and m.start() > 1:  # "酒店" (hotel) is a word, not "酒" + shop
        return [core[: m.start()], m.group(0)]
    return [core]


_KEYBOARD = (("qwertyuiop", 0.0), ("asdfghjkl", 0.25), ("zxcvbnm", 0.75))
_KEYS = {
    ch: (row, col + shift)
    for row, (keys, shift) in enumerate(_KEYBOARD)
    for col, ch in enumerate(keys)
}
_VOWELS = frozenset("aeiouy")


def _substitution(a: str, b: str) -> float:
    """Return the cost of typing ``b`` for ``a``: a neighbouring key or a vowel for a vowel
    is a typo (1); any other letter more likely means another word (1.5)."""
    if a == b:
        return 0.0
    if a in _VOWELS and b in _VOWELS:
        return 1.0
    pa, pb = _KEYS.get(a), _KEYS.get(b)
    if pa and pb and abs(pa[0] - pb[0]) <= 1 and abs(pa[1] - pb[1]) <= 1.0:
        return 1.0
    return 1.5


def edit_distance(a: str, b: str) -> float:
    """Return a typo distance: Damerau-Levenshtein where a swap, a missing or an extra letter
    costs 1 and a wrong letter 1 or 1.5 (``_substitution``): "scores" is not "stores"."""
    prev2: list[float] = []
    prev = [float(j) for j in range(len(b) + 1)]
    for i, ca in enumerate(a, 1):
        cur = [float(i)] + [0.0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + _substitution(ca, cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def _one_edit_apart(a: str, b: str) -> bool:
    """Whether one edit (a letter added, dropped or changed, or two swapped) could turn ``a``
    into ``b``: it leaves every letter before it and after it in place, so the common prefix
    and suffix cover all but at most two letters of the shorter word. A cheap necessary test
    before ``edit_distance`` (which compares every letter with every letter)."""
    n = min(len(a), len(b))
    p = 0
    while p < n and a[p] == b[p]:
        p += 1
    s = 0
    while s < n - p and a[-1 - s] == b[-1 - s]:
        s += 1
    return p + s >= n - 2


def is_generic(word: str) -> bool:
    """Whether a word is a generic or role noun ("companies", "shops", "manufacturers")."""
    return _generic(word) is not None


@lru_cache(maxsize=4096)
def _generic(word: str) -> str | None:
    """Return the generic or role noun a word is, allowing one typo in long ones ("servies")."""
    if word in GENERIC_NOUNS or word in ROLE_NOUNS:
        return word
    if len(word) < 6 or not word.isalpha():
        return None
    # Role nouns are left alone: "manufactoring" is a typo of the industry itself.
    # One edit changes the length by at most one: compare only such nouns (a 2,000-letter
    # word compared with every noun took a second).
    near = [
        g
        for g in GENERIC_NOUNS
        if len(g) >= 6
        and abs(len(g) - len(word)) <= 1
        and _one_edit_apart(word, g)
        and edit_distance(word, g) == 1
    ]
    return near[0] if len(near) == 1 else None


def _trim(words: list[str]) -> list[str]:
    while words and (words[0] in _EDGE_WORDS or words[0].isdigit()) and len(words) > 1:
        words.pop(0)
    while words and (words[-1] in _EDGE_WORDS or words[-1].isdigit()) and len(words) > 1:
        words.pop()
    return words


def _cap(term: str) -> str:
    term = _EDGE_PUNCT.sub("", term)
    if len(term) > MAX_TERM_CHARS:
        term = term[:MAX_TERM_CHARS].rsplit(" ", 1)[0].strip()
    return term


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


def _asked(seg: str) -> str:
    """Return "who makes packaging" as "companies that makes packaging" (see ``ASKED``)."""
    m = ASKED.match(seg)
    if not m:
        return seg
    rest = re.sub(r"^(?:are|is|can|could|would|will|might)\s+", "", m.group("rest"), flags=re.I)
    return f"{m.group('noun') or 'companies'} that {rest}"


def _segment(segment: str) -> tuple[Term | None, list[SetAside], bool]:
    """Return the term of one segment, what it set aside, and whether it was a lone "it"."""
    seg = _strip_lead_in(_asked(_SPACE.sub(" ", segment).strip()))
    if not seg:
        return _broad_only(segment, []), [], False
    if _QUESTION.match(seg) or _COMMAND.match(seg) or _CODE_LIKE.search(seg):
        return None, [], False
    yours: list[SetAside] = []
    own_line = None if _SELL.match(seg) else _WE_DO.match(seg)
    if own_line:
        return None, [SetAside("yours", own_line.group("what").strip().lower())], False
    sell = _SELL.match(seg)
    if sell:  # "sell POS systems to restaurants": the buyers
        yours.append(SetAside("yours", sell.group("what").strip().lower()))
        seg = sell.group("target")
    own = _YOURS.search(seg)
    if own and own.start() > 0:  # "construction companies for my cement business"
        yours.append(SetAside("yours", own.group("what").strip().lower()))
        seg = seg[: own.start()]
    seg, found = _qualifiers(seg)
    found = yours + found
    seg = _strip_lead_in(_SPACE.sub(" ", seg).strip())
    seg = _NOT_TERM_CHAR.sub(" ", seg)
    seg = _FILLER.sub(" ", seg)
    generic: list[str] = []
    words: list[str] = []
    suffixes: dict[str, str] = {}  # a Chinese word's role suffix ("家具店": "店")
    for raw in _SPACE.sub(" ", seg).strip().split(" "):
        if re.search(f"[{_CJK}]", raw):
            parts = _cjk_words(raw, generic)
            if len(parts) == 2:
                suffixes["".join(parts)] = parts[1]
            words.append("".join(parts))
        # A lone letter carries no industry ("a b a b ..." matched "F&B" through the stemmer).
        elif raw and not _LONE_LETTER.fullmatch(raw):
            words.append(raw)
    words = _trim(words)
    if words and words[0] in _EDGE_WORDS:
        words = []
    role = ""
    core: list[str] = []
    for w in words:
        noun = _generic(suffixes.get(w, w))
        if noun and w in suffixes:
            generic.append(noun)
            core.append(w[: -len(noun)])
            role = role or ROLE_NOUNS.get(noun, "")
        elif noun:
            generic.append(w)
            role = role or ROLE_NOUNS.get(noun, "")
        else:
            core.append(w)
    core = _trim(core)
    if core and core[0] in _EDGE_WORDS:
        core = []
    text = _cap(" ".join(core))
    if text and all(w in _CHITCHAT for w in _SPACE.split(text)):
        return None, found, text == "it"
    text = text.replace(_IT, "it")
    full = _cap(" ".join(words)).replace(_IT, "it") or text
    if text and not _CODE.fullmatch(text):
        if not _LETTER.search(text) or len(text) < MIN_TERM_CHARS:
            text = ""
    if not text and not generic:
        return _broad_only(segment, found), found, False
    return Term(text, full, tuple(generic), role), found, False


def _broad_only(segment: str, found: list[SetAside]) -> Term | None:
    """Return a too-broad term for a segment that named a kind of company but no industry.

    "SMEs", "any industry" or "businesses in Jurong" lose every word to the size, lead-in
    or place rules, yet they ask for companies: the resolver answers with a question.
    """
    for item in found:
        if item.kind == "size" and item.value in _BROAD_SIZES:
            return Term("", item.value, (item.value,))
    for w in _SPACE.sub(" ", _NOT_TERM_CHAR.sub(" ", segment)).split():
        if w in GENERIC_NOUNS:
            return Term("", w, (w,))
    return None


def extract(text: str) -> Extraction:
    """Return the terms of a message (at most 10) and what was set aside around them."""
    if not isinstance(text, str) or not text.strip():
        return Extraction()
    text = _LABEL.sub(" ", _keep_whole().sub(_protect, _with_it(text)))
    text = _YEAR_RANGE.sub(lambda m: _SPACE.sub(_KEEP_SPACE, m.group(0)), text)
    text = _OR_MORE.sub(lambda m: _SPACE.sub(_KEEP_SPACE, m.group(0)), text)
    text = _AMPERSAND_WORD.sub(r"\1" + _KEEP_AMP + r"\2", text)
    text = _URL.sub(_LINK, text)
    terms: list[Term] = []
    set_aside: list[SetAside] = []
    lone_it = False
    for segment in _SEPARATOR.split(text):
        if _LINK in segment:
            continue  # a link or an address is not an industry, nor is the text around it
        segment = segment.replace(_KEEP_SPACE, " ").replace(_KEEP_AMP, "&")
        term, found, it = _segment(segment)
        lone_it = lone_it or it
        label = term.label if term else ""
        set_aside += [replace(f, term=label) for f in found]
        if term:
            set_aside += [SetAside("generic", g, label) for g in term.generic]
            if all(t.full != term.full for t in terms):
                terms.append(term)
        if len(terms) >= MAX_TERMS:
            break
    # "manufacturing, logistics, it": in a list of industries a lone "it" is the industry.
    if lone_it and any(t.text for t in terms) and len(terms) < MAX_TERMS:
        terms.append(Term("it", "it"))
    return Extraction(tuple(terms), tuple(dict.fromkeys(set_aside)))


def extract_terms(text: str) -> list[str]:
    """Return up to 10 lowercase industry terms named in a message ([] for chit-chat)."""
    return extract(text).texts
