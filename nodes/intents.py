"""What a message in a thread asks, read deterministically (no model, no network).

:func:`parse` returns the intent and its slots:

* ``more``: the next page of the active search (``count``);
* ``refine``: filters on what is shown (``filters`` set, ``clear`` removed): status,
  incorporation years, place (planning area, alias, district or postal sector), entity
  type, minimum officers, minimum score (a bucket: "only high scores" is 85); or the
  first ``top`` leads again under the same filters ("top 5");
* ``job_status``: how the background job is doing (``job_id`` when named);
* ``explain``: why a company scored what it did (``rank``, ``score`` or ``name``);
* ``search``: a new or changed search (``op``: new, switch, add, remove, back; ``terms``;
  like: the industry of the lead at ``rank``);
* ``chat``: small talk and unclear input (``kind``).

The order of the checks is the order of precedence: paging words, small talk, clearing
filters, the job, explanations, filters, changes to the industries, then a new search.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from db.companies import BUCKET_MIN
from db.postal import place_names, place_sectors
from nodes.terms import ASKED, MAX_MORE_PAGE, MORE_PAGE, edit_distance, extract, more_request

Slots = dict[str, Any]


@dataclass(frozen=True)
class Parsed:
    """A message's intent and what it named."""

    intent: str
    slots: Slots = field(default_factory=dict)


_SPACE = re.compile(r"\s+")
_NUM_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "fifteen": 15, "twenty": 20, "thirty": 30, "fifty": 50,
}  # fmt: skip
_ORDINALS = {
    "first": 1, "top": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
    "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "last": -1, "bottom": -1,
}  # fmt: skip


_SCORE_OP = re.compile(r"\b(scor(?:es?|ing|ed)|rated)\s*(>=|=>|\u2265|>)\s*(?=[0-9])")


def _score_op(m: re.Match[str]) -> str:
    """Return "score >= 80" as "score at least 80" (punctuation is dropped next)."""
    return f"{m.group(1)} {'above' if m.group(2) == '>' else 'at least'} "


def _clean(text: str) -> str:
    """Lowercase, straight quotes, punctuation to spaces (keeping # & ' - and digits)."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").lower()
    text = _SCORE_OP.sub(_score_op, text)
    text = re.sub(r"[^\w\s#&'/+-]", " ", text)
    text = re.sub(r"(?:^|\s)[-/+]+(?=\s|$)", " ", text)
    return _SPACE.sub(" ", text).strip(" '-")


def _num(word: str) -> int | None:
    if word.isdigit():
        return int(word)
    return _NUM_WORDS.get(word)


# ------------------------------------------------------------------ small talk
_GREETING = re.compile(
    r"^(?:hi|hello|hey|hiya|yo|good (?:morning|afternoon|evening)|morning|howdy|hallo"
    r"|hey there|hi there|hello there)(?: there| team| bot| all)?$"
)
_THANKS = re.compile(
    r"^(?:(?:ok(?:ay)?|great|cool|nice|perfect|awesome)\s+)?(?:thanks|thank you|thank u|thx|ty|tq"
    r"|cheers|much appreciated|appreciate it)(?:\s+(?:a lot|so much|very much|mate|again))*$"
)
_BYE = re.compile(r"^(?:bye|goodbye|see you|see ya|later|that's all|thats all|done for today)")
_HELP = re.compile(
    r"^(?:help|\?+|what can you do|what can i (?:ask|do|say)|how does (?:this|it) work"
    r"|how do i use (?:this|you)|what do you do|who are you|what are you|commands|options"
    r"|what else can (?:you|i) do|menu)$"
)
_ACK = re.compile(
    r"^(?:ok|okay|k|kk|okie|sure|fine|yes|yeah|yep|yup|no|nope|nah|alright|got it|noted"
    r"|hmm+|hm|um+|uh|lol|haha|wow|cool|great|nice|good|perfect|awesome|sounds good|i see)$"
)
_UNCLEAR = re.compile(
    r"^(?:(?:change|drop|remove|add|do|fix|undo)\s+(?:it|that|this)|that one|this one"
    r"|the other one|not that(?: one)?|not sure|whatever|idk|dunno|same|again|huh|what"
    r"|anything|something else)$"
)


# An order other than the score's ("sort by newest"): the leads are ranked by score; the
# answer offers the filters that narrow by age or place instead.
_SORT = re.compile(
    r"\b(?:sort|order|rank|arrange|list)(?:ed)?\s+(?:them\s+|these\s+|it\s+|those\s+"
    r"|the\s+(?:list|leads|results|companies|table)\s+)?by\b"
    r"|\b(?:newest|oldest|latest|youngest|biggest|largest|alphabetical(?:ly)?)\s+first\b"
)
# How the score works ("how is the score calculated?"): answered with its factors.
_SCORING = re.compile(
    r"\b(?:how|what)\b.*\b(?:(?:lead\s+)?scor(?:es?|ing)|ranking|rank)\b.*\b(?:calculated|computed"
    r"|worked out|work|works|based on|determined|decided|mean|means|made up|come from|derived)\b"
    r"|\bhow\s+(?:do|did)\s+you\s+(?:score|rank|rate|order|pick|choose)\b(?!.*#)"
    r"|\bwhat\s+is\s+(?:a|the)\s+(?:lead\s+)?score\b"
    r"|\b(?:scoring|score)\s+(?:model|method|methodology|formula|system|criteria|explained)\b"
)
# How many leads the search has ("how many are there?"): answered with its counts.
_COUNT = re.compile(
    r"^(?:so\s+)?(?:how\s+many|what(?:'s|\s+is)\s+the\s+(?:total|count|number))\b"
    r"(?!.*\b(?:officers?|directors?|employees|staff|years?|jobs?)\b)"
)


_COUNT_WORDS = frozenset(
    "are is there in total of them these those the leads companies results live matches "
    "matching match do does did we you i have has found find got all altogether so far overall "
    "listed shown in the list".split()
)  # what a count question may say besides "how many" ("how many bakeries" is a search)
_COUNTED = _COUNT_WORDS | {"singapore", "sg", "exist", "registered", "currently", "now", "right"}


# Sizes the registry does not hold (headcount, revenue): answered with what it has.
_SIZE = re.compile(
    r"\b(?:big|bigger|biggest|large|larger|largest|small|smaller|smallest|medium(?:[\s-]?sized?)?"
    r"|mid[\s-]?sized?"
    r"|smes?|mncs?|multinationals?|startups?|employees|staff|headcount|revenue|turnover"
    r"|sales volume)\b"
)
_BARE_EXPORT = re.compile(r"^(?:export|download)(?:\s+(?:please|pls|now))?$")
_EXPORT = re.compile(
    r"\b(?:export|download|save|send)\s+(?:me\s+)?(?:these|them|this|that|it|all|everything"
    r"|the\s+(?:list|leads|results|table|companies))\b|\b(?:csv|excel|xlsx|spreadsheet|crm"
    r"|salesforce|hubspot)\b"
)


def _chat(t: str) -> Parsed | None:
    for kind, pattern in (
        ("greeting", _GREETING),
        ("thanks", _THANKS),
        ("bye", _BYE),
        ("help", _HELP),
        ("ack", _ACK),
        ("unclear", _UNCLEAR),
    ):
        if pattern.match(t):
            return Parsed("chat", {"kind": kind})
    return None


# ------------------------------------------------------------------ filters
_CLEAR_ALL = re.compile(
    r"\b(?:clear|reset|remove|drop|delete|undo|lose|no more)\s+(?:all\s+)?(?:the\s+|my\s+)?"
    r"(?:filters?|criteria|refinements?)\b|\bno filters?\b|\bwithout (?:any )?filters?\b"
    r"|\b(?:start over|show (?:me )?(?:them )?all(?: again)?|unfilter(?:ed)?|all of them"
    r"|everything again)\b"
)
_CLEAR = {
    "hidden": re.compile(
        r"\b(?:unhide|show\s+(?:me\s+)?(?:the\s+|all\s+)?hidden(?:\s+(?:ones|leads|companies))?"
        r"|bring\s+(?:back\s+(?:the\s+)?hidden|(?:them|the\s+hidden\s+ones)\s+back)"
        r"|show\s+(?:me\s+)?(?:the\s+)?ones\s+(?:i|we)\s+hid)\b"
    ),
    "live": re.compile(
        r"\b(?:any|all|every|whatever|regardless of(?: the)?)\s+(?:status|statuses)\b"
        r"|\binclud(?:e|ing)\s+(?:the\s+)?(?:inactive|dead|struck[\s-]off|closed|ceased"
        r"|terminated|cancelled|non[\s-]live)(?:\s+(?:ones|companies|too|as well))*\b"
        r"|\b(?:live\s+(?:or|and)\s+(?:not|non[\s-]live|inactive|dead)|(?:drop|remove|clear)"
        r"\s+the\s+(?:live|status)\s+filter)\b"
    ),
    "years": re.compile(
        r"\b(?:any|all|whatever|regardless of(?: the)?)\s+(?:age|ages|year|years|date|dates"
        r"|incorporation (?:year|date))\b|\b(?:drop|remove|clear)\s+the\s+(?:age|year|date"
        r"|incorporation)\s+filter\b|\bolder ones too\b|\bany time\b"
    ),
    "place": re.compile(
        r"\b(?:anywhere|everywhere|islandwide|island[\s-]wide|all (?:areas|locations|over"
        r"(?: singapore)?)|any (?:area|location|place|district|region)|whole (?:of )?singapore"
        r"|all of singapore)\b|\b(?:drop|remove|clear)\s+the\s+(?:location|area|place|district)"
        r"\s+filter\b"
    ),
    "entity": re.compile(
        r"\b(?:any|all)\s+(?:entity types?|types? of entit(?:y|ies)|entities|business types?)\b"
        r"|\binclud(?:e|ing)\s+(?:the\s+)?sole[\s-]?prop(?:rietor(?:ship)?)?s?\b"
        r"|\b(?:drop|remove|clear)\s+the\s+(?:entity|type)\s+filter\b"
    ),
    "officers": re.compile(
        r"\b(?:any|whatever)\s+(?:number of\s+)?(?:officers|directors|size)\b"
        r"|\b(?:drop|remove|clear)\s+the\s+(?:officers?|size|directors?)\s+filter\b"
    ),
    "score": re.compile(
        r"""
        \b(?:any|all|every|whatever(?:\s+the)?|regardless\s+of(?:\s+the)?)\s+
            (?:lead\s+)?(?:scores?|buckets?)\b
        | \binclud(?:e|ing)\s+(?:the\s+)?(?:low(?:er)?|medium|weak|cold)
            (?:[\s-]+(?:scor(?:es?|ing|ers|ed)|rated|ones|leads|bucket))+(?:\s+(?:too|as\ well))?
        | \b(?:low(?:er)?|medium)[\s-]+(?:scor(?:es?|ing|ers|ed)|rated|ones|leads)
            (?:\s+(?:ones|leads))?\s+(?:too|as\ well)\b
        | \b(?:drop|remove|clear|reset)\s+the\s+(?:minimum\s+|min\s+)?(?:score|bucket)
            \s+filter\b | \bno\s+(?:minimum|min)\s+score\b
        """,
        re.VERBOSE,
    ),
}
_LIVE_NOT = re.compile(
    r"\b(?:only|just)\s+(?:the\s+)?(?:inactive|dead|struck[\s-]off|closed|ceased|terminated"
    r"|dissolved|non[\s-]live)(?:\s+ones)?\b|\b(?:inactive|dead|struck[\s-]off|closed"
    r"|dissolved|non[\s-]live)\s+(?:ones|companies)\s+only\b"
)
_LIVE = re.compile(
    r"\b(?:only|just)\s+(?:the\s+)?(?:live|active|operating|existing|alive|running)\b"
    r"|\b(?:live|active|operating|alive)\s+(?:ones|companies|firms|businesses|entities)?\s*only\b"
    r"|\b(?:exclude|without|no|hide|drop|remove|skip|filter out|get rid of)\s+(?:the\s+)?"
    r"(?:inactive|dead|struck[\s-]off|closed|ceased|terminated|cancelled|dissolved|non[\s-]live)"
    r"(?:\s+(?:ones|companies|entities))?\b"
    r"|^(?:live|active)(?:\s+(?:ones|companies|firms|businesses|entities))?\b|\b(?:still|currently)\s+(?:live|active"
    r"|operating|trading)\b|\b(?:that|which|who)\s+are\s+(?:live|active)\b"
)
_YEAR = r"(?:19|20)[0-9]{2}"
_INC = (
    r"(?:(?:that\s+were\s+|were\s+)?(?:incorporated|registered|founded|established|set\s+up"
    r"|started|formed|inc|est)\s+)?"
)
_BETWEEN = re.compile(
    rf"\b{_INC}(?:between|from)\s+(?P<a>{_YEAR})\s+(?:and|to|-|till|until)\s+(?P<b>{_YEAR})\b"
    rf"|\b{_INC}(?P<c>{_YEAR})\s*(?:-|to)\s*(?P<d>{_YEAR})\b"
)
def _year_bound(ops: str, tail: str) -> re.Pattern[str]:
    """Return a bound on the incorporation year: "<op> 2015" or "2015 <tail>"."""
    return re.compile(rf"\b{_INC}(?P<op>{ops})\s+(?P<y>{_YEAR})\b|\b{_INC}(?P<y2>{_YEAR})\s+{tail}")


_AFTER = _year_bound(
    "after|since|from|post|newer than|later than|on or after|>=?",
    r"(?:onwards?|or later|and later|and after|or after|and newer|\+)(?=\s|$)",
)
_BEFORE = _year_bound(
    "before|prior to|pre|until|till|older than|earlier than|on or before|<=?",
    r"(?:or earlier|and earlier|and before|or before|and older)\b",
)
_IN_YEAR = re.compile(rf"\b(?:incorporated|registered|founded|established|set\s+up|started"
                      rf"|formed|est)\s+(?:in\s+)?(?P<y>{_YEAR})\b")  # fmt: skip
_THIS_YEAR = re.compile(r"\b(?:incorporated|registered|founded|established|set\s+up|started"
                        r"|formed|opened)\s+(?:in\s+)?(?P<w>this|last)\s+year\b")  # fmt: skip
_RELATIVE = re.compile(
    r"""
    \b(?:(?:incorporated|registered|founded|established|set\s+up|started|formed)\s+)?
        (?:in|within|over)\s+the\s+(?:last|past)\s+(?P<n>[0-9]{1,2}|\w+)\s+years?\b
    | \b(?P<young>younger|newer|less)\s+than\s+(?P<n2>[0-9]{1,2}|\w+)\s+years?(?:\s+old)?\b
    | \b(?:older|more)\s+than\s+(?P<n3>[0-9]{1,2}|\w+)\s+years?(?:\s+old)?\b
    | \b(?:at\s+least|over|min(?:imum)?)\s+(?P<n4>[0-9]{1,2}|\w+)\s+years?\s+old\b
    | \b(?:(?P<n5>[0-9]{1,2}|\w+)\+?\s+years?\s+(?:old\s+)?
        (?:or\s+(?:more|older)|and\s+(?:above|older)|plus))\b
    """,
    re.VERBOSE,
)
_NEW_OLD = re.compile(
    r"\b(?:only\s+)?(?:(?P<new>new(?:ly incorporated|er|est)?|recent(?:ly incorporated)?"
    r"|most recent|latest|young(?:er|est)?)"
    r"|(?P<old>old(?:er|est)?|(?:most\s+)?established|mature))\s+(?:ones|companies|firms)"
    r"(?:\s+only)?\b"
)
_OFFICERS = re.compile(
    r"""
    \b(?:with\s+|having\s+)?(?:at\s+least|min(?:imum)?(?:\s+of)?|more\s+than|over|>=?)\s+
        (?P<n>[0-9]{1,3}|\w+)\s+(?:officers?|directors?|people\ on\ (?:the\ )?board)\b
    | \b(?:with\s+)?(?P<n2>[0-9]{1,3})\s*(?:\+|or\s+more)\s+(?:officers?|directors?)\b
    | \b(?:with\s+)?(?P<n3>[0-9]{1,3})\s+(?:officers?|directors?)\s+
        (?:or\s+more|and\s+(?:above|more)|minimum|at\s+least|plus)\b
    | \bmultiple\s+(?:officers|directors)\b | \bmore\s+than\s+one\s+(?:officer|director)\b
    """,
    re.VERBOSE,
)
# Scores: the buckets derive from the score (db.companies.BUCKET_MIN), so a bucket filter is
# a score range: "only high scores" 85 or more, "high and medium" or "drop the low ones" 65 or
# more, "just the medium ones" 65 to 84, "only the low ones" 64 or less.
_HIGH = r"(?:high(?:est)?|hot(?:test)?|strong)"
_MEDIUM = r"(?:medium|mid)"
_LOW = r"(?:low(?:est)?|weak|cold)"
_SCORED = r"(?:scor(?:es?|ing|ers|ed)|rated|bucket)"
_LEADS = rf"(?:{_SCORED}|ones|leads?|prospects|results|companies)"
_SCORE_BUCKET = re.compile(
    rf"""
    (?P<med>
        \b(?:(?:only|just)\s+)?(?:the\s+)?
            (?:{_HIGH}\s*(?:and|&|or|\+|/)\s*{_MEDIUM}|{_MEDIUM}\s*(?:and|&|or|\+|/)\s*{_HIGH})
            (?:[\s-]+{_LEADS})*(?:\s+only)?\b
      | \b{_MEDIUM}(?:[\s-]+{_SCORED})?\s+(?:and|or)\s+(?:above|up|higher|better)\b
      | \b(?:drop|remove|exclude|hide|skip|no|not|without|filter\s+out|get\s+rid\s+of|lose|cut)
            \s+(?:all\s+)?(?:the\s+)?{_LOW}(?:(?:[\s-]+{_LEADS})+\b|s?(?=\s*$))
    )
    | (?P<high>
        \b(?:(?:only|just)\s+)?(?:the\s+)?{_HIGH}[\s-]+{_SCORED}(?:[\s-]+{_LEADS})*(?:\s+only)?\b
      | \b(?:only|just)\s+(?:the\s+)?{_HIGH}(?:[\s-]+{_LEADS})*(?:\s+only)?(?=\s*$|\s+please)
      | \b{_HIGH}[\s-]+{_LEADS}(?:[\s-]+{_LEADS})*\s+only\b
      | \b(?:the\s+)?hot(?:test)?\s+(?:leads|ones|prospects)\b
      | \b(?:(?:only|just)\s+)?(?:the\s+)?(?:top|best)[\s-]+(?:scor(?:ing|ers|ed)|rated)
            (?:[\s-]+{_LEADS})*(?:\s+only)?\b
      | \b(?:drop|remove|exclude|hide|skip|no|not|without|filter\s+out|get\s+rid\s+of|lose|cut)
            \s+(?:all\s+)?(?:the\s+)?{_MEDIUM}\s*(?:and|&|or|/)\s*{_LOW}
            (?:(?:[\s-]+{_LEADS})+\b|s?(?=\s*$))
    )
    | (?P<medonly>
        \b(?:(?:only|just)\s+)?(?:the\s+)?{_MEDIUM}[\s-]+(?:{_SCORED}|ones|leads?|prospects)
            (?:[\s-]+{_LEADS})*(?:\s+only)?\b
      | \b(?:only|just)\s+(?:the\s+)?{_MEDIUM}(?=\s*$|\s+please)
    )
    | (?P<low>
        \b(?:(?:only|just)\s+)?(?:the\s+)?{_LOW}[\s-]+(?:{_SCORED}|ones|leads?|prospects)
            (?:[\s-]+{_LEADS})*(?:\s+only)?\b
      | \b(?:only|just)\s+(?:the\s+)?{_LOW}(?=\s*$|\s+please)
    )
    """,
    re.VERBOSE,
)
_SCORE_N = r"(?P<n>100|[1-9]?[0-9])(?![0-9])"
_SCORE_MIN = re.compile(
    rf"""
    \b(?:with\s+)?(?:a\s+)?(?:lead\s+)?(?:scores?|scoring|scored|rated)\s+(?:of\s+)?
        (?P<op>above|over|more\s+than|greater\s+than|higher\s+than|>=?|at\s+least
        |min(?:imum)?(?:\s+of)?|from|no\s+less\s+than|not\s+below)\s+{_SCORE_N}
    | \b(?:with\s+)?(?:a\s+)?(?:lead\s+)?(?:scores?|scoring|scored|rated)\s+(?:of\s+)?
        {_SCORE_N.replace("n>", "n2>")}\s*(?:\+|or\s+(?:more|above|higher|better|over)
        |and\s+(?:above|up|over|higher|more)|plus)(?=\s|$)
    | \b(?:min(?:imum)?|at\s+least)\s+(?:a\s+)?(?:lead\s+)?score\s+(?:of\s+)?
        {_SCORE_N.replace("n>", "n3>")}
    | ^(?:(?:only|just)\s+)?(?:(?:the\s+)?ones\s+)?(?:(?P<op4>above|over|>=?)\s+)?
        (?P<n4>100|[1-9][0-9])(?(op4)|\s*(?:\+|or\s+(?:more|above|higher|better)
        |and\s+(?:above|up|over|higher)))(?:\s+only)?(?:\s+(?:please|pls))?$
    """,
    re.VERBOSE,
)
_SCORE_MAX = re.compile(
    rf"""
    \b(?:with\s+)?(?:a\s+)?(?:lead\s+)?(?:scores?|scoring|scored|rated)\s+(?:of\s+)?
        (?P<op>below|under|less\s+than|lower\s+than|<=?|at\s+most|max(?:imum)?(?:\s+of)?
        |up\s+to|no\s+more\s+than|not\s+above)\s+{_SCORE_N}
    | \b(?:with\s+)?(?:a\s+)?(?:lead\s+)?(?:scores?|scoring|scored|rated)\s+(?:of\s+)?
        {_SCORE_N.replace("n>", "n2>")}\s*(?:or\s+(?:less|below|lower|under)
        |and\s+(?:below|under|lower|less))(?=\s|$)
    | \b(?:max(?:imum)?|at\s+most)\s+(?:a\s+)?(?:lead\s+)?score\s+(?:of\s+)?
        {_SCORE_N.replace("n>", "n3>")}
    | ^(?:(?:only|just)\s+)?(?:(?:the\s+)?ones\s+)?(?:(?P<op4>below|under|<=?)\s+)?
        (?P<n4>100|[1-9][0-9])(?(op4)|\s*(?:or\s+(?:less|below|lower|under)
        |and\s+(?:below|under|lower|less)))(?:\s+only)?(?:\s+(?:please|pls))?$
    """,
    re.VERBOSE,
)
_SOLE = re.compile(
    r"\b(?:only|just)\s+(?:the\s+)?sole[\s-]?(?:prop(?:rietor(?:ship)?)?s?|traders?)\b"
    r"|\bsole[\s-]?(?:prop(?:rietor(?:ship)?)?s?|traders?)\s+only\b"
)
_COMPANY = re.compile(
    r"""
    \b(?:only|just)\s+(?:the\s+)?(?:companies(?=\s*$|\s+(?:please|pls|not|no)\b)
        | pte(?:\s+ltd)?s? | private\ limited(?:\ companies)? | limited\ companies
        | registered\ companies | incorporated\ companies | corporations)\b
    | \b(?:companies|pte\ ltds?)\s+only\b | \bpte\s+ltds?\b | \bprivate\ limited\ companies\b
    | \b(?:no|exclude|without|not|skip|drop|remove|hide|filter\ out)\s+(?:the\s+)?
        (?:sole[\s-]?(?:prop(?:rietor(?:ship)?)?s?|traders?)|partnerships)\b
    """,
    re.VERBOSE,
)
_PARTNERSHIP = re.compile(r"\b(?:only|just)\s+(?:the\s+)?(?:llps?|partnerships)\b"
                          r"|\b(?:llps?|partnerships)\s+only\b")  # fmt: skip
_SECTOR = re.compile(
    r"""
    \b(?:postal\s+(?:code\s+)?sectors? | sectors? | postcodes?\s+(?:starting\s+(?:with\s+)?)?
        | postal\s+codes?\s+(?:starting\s+(?:with\s+)?)?
        | zip\s+codes?\s+(?:starting\s+(?:with\s+)?)?)\s*(?P<s>[0-9]{2})(?:[0-9x]{4})?\b
    | \b(?P<s2>[0-9]{2})xxxx\b
    """,
    re.VERBOSE,
)
_DISTRICT = re.compile(r"\b(?:postal\s+)?(?:district|d)\s*(?P<d>[0-9]{1,2})\b")
_FILLER = frozenset(
    "only just show me us the ones one companies company firms businesses entities leads results "
    "list them those these please pls can you could i want need give keep filter filtered by "
    "narrow down limit restrict to in at near around based located that are which is who were "
    "was and with of now also too as well what about how any rows let's lets see display "
    "ok okay so then instead from within inside area areas region district side part of "
    "singapore sg zone estate town there here incorporated registered founded established "
    "set up started formed year years only a an for on get put apply add make but those "
    "having has have ones remove drop exclude include hide without no not or fine ok many "
    "more than over under less fewer".split()
)


def _place_pattern(text: str) -> re.Pattern[str] | None:
    """Return a pattern of the place names whose first word the text holds (one pattern of
    all 99 names tried at every position of a long message costs ~10 ms)."""
    words = set(re.findall(r"[\w'-]+", text))
    return _names_pattern(tuple(n for n in place_names() if n.split()[0] in words))


@lru_cache(maxsize=256)
def _names_pattern(names: tuple[str, ...]) -> re.Pattern[str] | None:
    if not names:
        return None
    return re.compile(rf"\b(?P<p>{'|'.join(re.escape(n) for n in names)})\b")


def _filters(t: str) -> tuple[dict[str, Any], list[str], str]:
    """Return the filters a message sets, the ones it clears, and what is left of it."""
    found: dict[str, Any] = {}
    clear: list[str] = []
    rest = t

    def cut(pattern: re.Pattern[str]) -> list[re.Match[str]]:
        nonlocal rest
        matches = list(pattern.finditer(rest))
        for m in matches:
            rest = rest.replace(m.group(0), " ", 1)
        return matches

    for key, pattern in _CLEAR.items():
        if cut(pattern):
            clear.append(key)
    _score(cut, found)
    if cut(_SOLE):
        found["entity"] = "sole"
    elif cut(_PARTNERSHIP):
        found["entity"] = "partnership"
    elif cut(_COMPANY):
        found["entity"] = "company"
    if cut(_LIVE_NOT):
        found["live"] = False
    elif cut(_LIVE):
        found["live"] = True
    _years(cut, found)
    for m in cut(_OFFICERS):
        n = m.group("n") or m.group("n2") or m.group("n3")
        value = _num(n) if n else 2
        if value is not None:
            strict = m.group(0).lstrip().startswith(("more than", "over", ">")) and ">=" not in m[0]
            found["min_officers"] = value + (1 if strict and m.group("n") else 0)
    _places(cut, found, t)
    return found, clear, rest


def _score(cut: Any, found: dict[str, Any]) -> None:
    """Read a score range: a bucket ("only high scores", "drop the low ones", "just the
    medium ones") or a bound ("score above 80", "scores of 70 or more", "80+", "score below
    70"); a bucket names the whole range, and the last one named wins."""
    for m in cut(_SCORE_MIN):
        n = m.group("n") or m.group("n2") or m.group("n3") or m.group("n4")
        op = _SPACE.sub(" ", m.group("op") or m.group("op4") or "")
        strict = op in ("above", "over", "more than", "greater than", "higher than", ">")
        found["min_score"] = min(int(n) + (1 if strict else 0), 100)
    for m in cut(_SCORE_MAX):
        n = m.group("n") or m.group("n2") or m.group("n3") or m.group("n4")
        op = _SPACE.sub(" ", m.group("op") or m.group("op4") or "")
        strict = op in ("below", "under", "less than", "lower than", "<")
        found["max_score"] = max(int(n) - (1 if strict else 0), 0)
    for m in cut(_SCORE_BUCKET):
        found.pop("min_score", None)
        found.pop("max_score", None)
        if m.group("low"):
            found["max_score"] = BUCKET_MIN["medium"] - 1
            continue
        found["min_score"] = BUCKET_MIN["high" if m.group("high") else "medium"]
        if m.group("medonly"):
            found["max_score"] = BUCKET_MIN["high"] - 1


def _years(cut: Any, found: dict[str, Any]) -> None:
    this_year = date.today().year
    for m in cut(_BETWEEN):
        a, b = int(m.group("a") or m.group("c")), int(m.group("b") or m.group("d"))
        found["year_min"], found["year_max"] = min(a, b), max(a, b)
    for m in cut(_AFTER):
        y = int(m.group("y") or m.group("y2"))
        op = m.group("op") or ""
        found["year_min"] = y if op in ("since", "from", "on or after", ">=") or not op else y + 1
    for m in cut(_BEFORE):
        y = int(m.group("y") or m.group("y2"))
        op = m.group("op") or ""
        found["year_max"] = y if op in ("until", "till", "on or before", "<=") or not op else y - 1
    for m in cut(_IN_YEAR):
        found["year_min"] = found["year_max"] = int(m.group("y"))
    for m in cut(_THIS_YEAR):
        found["year_min"] = found["year_max"] = this_year - (m.group("w") == "last")
    for m in cut(_RELATIVE):
        if m.group("n") or m.group("n2"):
            n = _num(m.group("n") or m.group("n2"))
            if n is not None:
                found["year_min"] = this_year - n
        else:
            n = _num(m.group("n3") or m.group("n4") or m.group("n5"))
            if n is not None:
                found["year_max"] = this_year - n
    for m in cut(_NEW_OLD):
        if m.group("new"):
            found["year_min"] = this_year - 5
        else:
            found["year_max"] = this_year - 10


def _places(cut: Any, found: dict[str, Any], text: str) -> None:
    names: list[str] = []
    sectors: list[str] = []
    for m in cut(_SECTOR):
        s = m.group("s") or m.group("s2")
        if place_sectors(s):
            names.append(f"postal sector {s}")
            sectors.append(s)
    for m in cut(_DISTRICT):
        got = place_sectors(f"district {m.group('d')}")
        if got:
            names.append(f"district {int(m.group('d'))}")
            sectors += got
    pattern = _place_pattern(text)
    for m in cut(pattern) if pattern else []:
        got = place_sectors(m.group("p"))
        if got:
            names.append(m.group("p"))
            sectors += got
    if names:
        found["places"] = list(dict.fromkeys(names))
        found["sectors"] = sorted(set(sectors))


_MISSPELT_PLACE = re.compile(
    r"^(?:(?:only|just)\s+)?(?:(?:the\s+)?ones\s+|those\s+|companies\s+)?(?:in|at|near|around)"
    r"\s+(?:the\s+)?(?P<w>[a-z][a-z' -]{3,24}?)(?:\s+(?:only|please|pls))?$"
)


def _misspelt_place(t: str) -> str | None:
    """Return the place a follow-up like "in jurng" means: the one name within one typo
    (two from 8 letters), when exactly one is that close; None otherwise."""
    m = _MISSPELT_PLACE.match(t)
    if not m:
        return None
    word = m.group("w")
    allowed = 1 if len(word) < 8 else 2
    close = [
        (edit_distance(word, name), name)
        for name in place_names()
        if abs(len(name) - len(word)) <= allowed and name[0] == word[0]
    ]
    best = sorted(c for c in close if c[0] <= allowed)
    if not best or (len(best) > 1 and best[1][0] == best[0][0]):
        return None
    return best[0][1]


def _only_filler(rest: str) -> bool:
    words = [w for w in re.split(r"[\s/,&'-]+", rest) if w]
    return all(w in _FILLER or w.isdigit() for w in words)


# ------------------------------------------------------------------ job status
_JOB_ID = re.compile(r"\bjobs?\s*(?:#|no\.?|number|id)?\s*(?P<id>[0-9]{1,9})\b")
_JOB = re.compile(
    r"\bjobs?\s*#?\s*(?P<id>[0-9]{1,9})\b|\b(?:job|upsert|background (?:task|work|run)"
    r"|(?:how many|any|which|what|my|the|running|queued|pending|active|background) jobs"
    r"|jobs (?:are |still )?(?:running|queued|pending|active|left|done|finished)"
    r"|progress|eta)\b|(?<!any )(?<!all )(?<!every )\bstatus\b"
    r"|\bis (?:it|that|the rest|everything) (?:done|finished|ready|complete|completed|running"
    r"|over|through)\b|\b(?:done|finished|ready|complete) yet\b|\bstill (?:running|going"
    r"|processing|working|loading)\b|\bhow long\b|\bhow far along\b|\bwhen will (?:it|the rest"
    r"|they|that|this|the others|the remaining ones|all of them)\b|\bwhen (?:is|does) (?:it"
    r"|the rest) (?:done|finish|run|start|ready)\b|\bany (?:news|update|updates)\b"
    r"|\bhow(?:'s| is) it going\b|\bwhere are we\b"
)


def _job(t: str) -> Parsed | None:
    if not _JOB.search(t):
        return None
    named = _JOB_ID.search(t)
    return Parsed("job_status", {"job_id": int(named.group("id"))} if named else {})


# ------------------------------------------------------------------ explain
# How a message marks a lead's place in the table: "#3", "no. 3", "number 3".
_RANK_MARK = r"(?:#|no\.?\s*|number\s+)"
# "what does #2 do?", "what is #3?": the answer starts with the activity it is registered for.
_ACTIVITY_OF = re.compile(
    rf"^(?:what|who)(?:'s|s)?\s+(?:(?:does|do|is|was|are|about)\s+)?{_RANK_MARK}"
    r"[0-9]{1,3}\b|^what\s+(?:does|do)\s+(?:the\s+)?(?:#?[0-9]{1,3}(?:st|nd|rd|th)?|first|second"
    r"|third|top|last)(?:\s+(?:one|company|lead))?\s+do\b"
)
_EXPLAIN = re.compile(
    r"^(?:why|how come|explain|what makes|what's behind|whats behind|what is behind"
    r"|break ?down|justify|reason for|rationale for|what about the score|score breakdown"
    r"|tell me (?:more )?(?:about|why)|how (?:was|is|did)|what (?:drove|drives|gave))\b"
    r"|\bwhy\b|" + _ACTIVITY_OF.pattern
)
_RANK = re.compile(
    r"(?:#|\bno\.?\s*|\bnumber\s+|\brow\s+|\brank\s+)(?P<n>[0-9]{1,3})\b"
    r"|\b(?P<o>[0-9]{1,3})(?:st|nd|rd|th)\b"
    rf"|\b(?:the\s+)?(?P<w>{'|'.join(_ORDINALS)})(?:\s+(?:one|company|lead|result|row|entry"
    r"|on the list))?\b"
)
_SCORE = re.compile(r"\b(?:scored?|scoring|rated|at|of|got|gets|get|a|an)\s+(?P<s>[0-9]{1,3})\b"
                    r"|^why\s+(?P<s2>[0-9]{1,3})$")  # fmt: skip
_NAME_NOISE = re.compile(
    r"^(?:why|how come|explain|what makes|what's behind|whats behind|what is behind|justify"
    r"|break ?down|reason for|rationale for|tell me (?:more )?(?:about|why)|how (?:was|is|did)"
    r"|what (?:drove|drives|gave))(?:\s+|$)|\b(?:is|was|did you|do you|does|the score (?:of|for)"
    r"|score (?:of|for)|scored?|scoring|ranked|rated|pick|picked|choose|chose|include|included"
    r"|recommend|recommended|list|listed|on the list|in the list|at the top|so high(?:ly)?"
    r"|so low|high|highly|low|a good lead|good|a lead|lead|there|here|its|it's|it|score"
    r"|get|gets|got|rank|this|that)\b|\?"
)
_VAGUE = frozenset({"", "one", "this one", "that one", "it", "them", "this", "that", "these"})


def _explain(t: str) -> Parsed | None:
    if not _EXPLAIN.search(t):
        return None
    slots: Slots = {}
    m = _RANK.search(t)
    if m:
        if m.group("n") or m.group("o"):
            slots["rank"] = int(m.group("n") or m.group("o"))
        else:
            slots["rank"] = _ORDINALS[m.group("w")]
    s = _SCORE.search(t)
    if s and not (m and (m.group("n") or m.group("o")) and m.start() == s.start("s") - 1):
        value = int(s.group("s") or s.group("s2"))
        if value <= 100 and value != slots.get("rank"):
            slots["score"] = value
    if "rank" in slots and _ACTIVITY_OF.match(t):
        slots["activity"] = True
    if not slots:
        name = _SPACE.sub(" ", _NAME_NOISE.sub(" ", t)).strip(" #'-")
        name = re.sub(r"^(?:the|a|an|about|for|of|with)\s+", "", name)
        if name not in _VAGUE:
            slots["name"] = name
    return Parsed("explain", slots)


# ------------------------------------------------------------------ industries
_BACK = re.compile(
    r"^(?:ok(?:ay)?\s+|now\s+|let's\s+|lets\s+|can we\s+|please\s+)?(?:go\s+|switch\s+|get\s+"
    r"|come\s+|head\s+)?back(?:\s+to\s+(?:the\s+)?(?P<t>.+?))?(?:\s+please)?$"
    r"|^(?:undo|previous search|the previous (?:one|search)|last search|the (?:first|other)"
    r" search|return to (?:the\s+)?(?P<t2>.+))$"
)
_REMOVE = re.compile(
    r"^(?:please\s+|and\s+|now\s+|ok\s+)?(?:drop|remove|exclude|take out|take away|without|minus"
    r"|skip|leave out|get rid of|forget|no more|cut|lose|not interested in|don't want"
    r"|dont want|do not want)\s+(?:the\s+)?(?P<t>.+?)(?:\s+(?:from the (?:search|list)"
    r"|please|anymore|any more|companies|ones|part))*$"
)
_ADD = re.compile(
    r"^(?:and\s+|please\s+|can you\s+|ok\s+)?(?:also|add|plus|include|and also|as well as"
    r"|throw in|along with|together with)\s+(?P<t>.+?)(?:\s+(?:too|as well|please|also))*$"
    r"|^(?:and\s+)?(?P<t2>.+?)\s+(?:too|as well)$"
)
_SWITCH = re.compile(
    r"^(?:(?:actually|hmm|ok(?:ay)?|no|nah|wait|forget (?:that|it)|scrap that|never ?mind)[\s,]+)*"
    r"(?:(?:what|how)\s+about|what if we (?:try|look at)|switch(?:\s+it)?\s+to"
    r"|change(?:\s+it)?\s+to|swap(?:\s+it)?\s+(?:for|to)|move\s+to|jump\s+to|try"
    r"|let's\s+(?:try|do|look at|see)"
    r"|lets\s+(?:try|do|look at|see)|search(?:\s+for)?|look\s+(?:for|up|at)|find(?:\s+me)?"
    r"|now\s+(?:try|do|show me|search)|show\s+me|give\s+me|i\s+(?:want|need)(?:\s+to\s+see)?"
    r"|new\s+search|can you (?:find|show|search|look for)|rather|instead)[\s:,]+"
    r"(?P<t>.+?)(?:\s+(?:instead|then|now|please|rather))*$"
    r"|^(?:(?:actually|ok(?:ay)?|no|nah)[\s,]+)?(?P<t2>.+?)\s+instead$"
)
_TERM_NOISE = re.compile(r"^(?:the|some|any|all|those|these)\s+|\s+(?:companies|firms|instead)$")


def _terms(text: str) -> str:
    return _TERM_NOISE.sub("", text.strip(" ,?")).strip()


def _industries(t: str) -> Parsed | None:
    m = _BACK.match(t)
    if m:
        terms = _terms(m.group("t") or m.group("t2") or "")
        return Parsed("search", {"op": "back", **({"terms": terms} if terms else {})})
    for op, pattern in (("remove", _REMOVE), ("add", _ADD), ("switch", _SWITCH)):
        m = pattern.match(t)
        if m:
            terms = _terms(m.group("t") or (m.groupdict().get("t2") or ""))
            if terms and terms not in _VAGUE:
                return Parsed("search", {"op": op, "terms": terms})
            return Parsed("chat", {"kind": "unclear"})
    return None


# ------------------------------------------------------------------ more
_MORE = re.compile(
    r"^(?:(?:ok|okay|yes|and|then|now|please|pls|great|cool|nice)\s+)*"
    r"(?:(?:can|could)\s+(?:you|i|we)\s+(?:see|have|get|show(?:\s+me)?)\s+)?"
    r"(?:(?:show|give|load|get|list|see|display|fetch|send)(?:\s+(?:me|us))?\s+)?"
    r"(?:(?:any|some|a\s+few|(?P<n>[0-9]{1,3}|\w+))\s+)?(?:more|next|another|further|other)"
    r"(?:\s+(?P<n2>[0-9]{1,3}))?(?:\s+(?:page|batch|set|lot|ones?|leads?|results?|companies"
    r"|rows|of them|please|pls|after that|results please))*$"
    r"|^(?:keep going|continue|go on|carry on|next please|and the rest|the rest|show the rest"
    r"|rest of (?:them|the list)|page (?P<p>[0-9]{1,3})|next page please|load the next page"
    r"|what else|who else|anything else)$"
)


# Leads the user takes off the list ("hide #2", "remove #3 and #5", "#4 is already a
# customer"): they leave the pages and the file until "show hidden".
_HIDE_VERB = (
    r"(?:hide|remove|drop|exclude|skip|delete|ignore|take\s+out|leave\s+out|get\s+rid\s+of"
    r"|cross\s+(?:out|off)|filter\s+out|not\s+interested\s+in)"
)
_HIDE_RANKS = (
    rf"(?P<ranks>(?:{_RANK_MARK}?[0-9]{{1,3}}|(?:the\s+)?(?:first|second|third"
    r"|fourth|fifth|sixth|seventh|eighth|ninth|tenth|last|top)(?:\s+(?:one|company|lead))?)"
    rf"(?:(?:\s*(?:,|and|&|\+)\s*|\s+){_RANK_MARK}?[0-9]{{1,3}})*)"
)
_HIDE = re.compile(
    rf"^(?:(?:please|and|also|ok|okay|now|pls)\s+)*{_HIDE_VERB}\s+{_HIDE_RANKS}"
    r"(?:\s+(?:please|pls|from\s+the\s+list|too|as\s+well))*"
    r"(?:\s+(?:they|it|we|i|he|she|that|which|cos|because|since|as)\b.*)?$"
    rf"|^{_HIDE_RANKS.replace('ranks', 'ranks2')}\s+(?:is|are)\s+already\s+(?:a\s+|our\s+|my\s+)?"
    r"(?:clients?|customers?|accounts?)\b"
)


def _hide(t: str) -> Parsed | None:
    m = _HIDE.match(t)
    if not m:
        return None
    said = m.group("ranks") or m.group("ranks2")
    ranks = [int(r) for r in re.findall(r"[0-9]{1,3}", said)]
    word = re.search("|".join(_ORDINALS), said)
    if not ranks and word:
        ranks = [_ORDINALS[word.group(0)]]
    return Parsed("refine", {"hide": ranks})


# Companies in the industry of a lead ("more like #3", "companies similar to #2"): a search
# of the SSIC code that lead is registered for.
_LIKE = re.compile(
    r"^(?:(?:ok|okay|now|please|pls|and|can you|could you)\s+)*"
    r"(?:(?:show|find|give|get|search|list)(?:\s+(?:me|us))?\s+)?(?:some\s+|any\s+)?"
    r"(?:more\s+)?(?:companies|firms|ones|leads|businesses|others)?\s*"
    r"(?:(?:that\s+are\s+|which\s+are\s+)?similar\s+to|similar\s+(?:companies|firms|ones"
    r"|businesses|leads)\s+to|like|in\s+the\s+same\s+(?:industry|line"
    r"|business|sector)\s+as|same\s+(?:industry|kind|type|sector)\s+as)\s+"
    rf"{_RANK_MARK}(?P<n>[0-9]{{1,3}})(?:\s+(?:please|pls))?$"
)


def _like(t: str) -> Parsed | None:
    m = _LIKE.match(t)
    return Parsed("search", {"op": "like", "rank": int(m.group("n"))}) if m else None


# The first N leads again ("top 5", "just the best 3"): the thread's filters stay.
_TOP = re.compile(
    r"^(?:(?:ok(?:ay)?|so|now|then|please|pls|and)\s+)*"
    r"(?:(?:can|could)\s+(?:you|i|we)\s+(?:see|have|get|show(?:\s+me)?)\s+)?"
    r"(?:(?:show|give|list|get|send|display)(?:\s+(?:me|us))?\s+)?(?:(?:just|only)\s+)?"
    r"(?:the\s+)?(?:(?:top|best)\s+(?P<n>[0-9]{1,3}|\w+)|(?P<n2>[0-9]{1,3}|\w+)\s+best)"
    r"(?:\s+(?:leads?|companies|ones|results|prospects|rows|of them|on the list|only|please"
    r"|pls))*$"
)


def _top(t: str) -> Parsed | None:
    m = _TOP.match(t)
    count = _num(m.group("n") or m.group("n2")) if m else None
    if count is None:
        return None  # "top scoring ones" is a score filter
    return Parsed("refine", {"top": min(max(count, 1), MAX_MORE_PAGE)})


def _more(t: str) -> Parsed | None:
    m = _MORE.match(t)
    if not m:
        return None
    n = m.group("n") or m.group("n2")
    count = _num(n) if n else None
    if n and count is None:
        return None  # "more retail" is no page request
    return Parsed("more", {"count": min(max(count or MORE_PAGE, 1), MAX_MORE_PAGE)})


def message_filters(text: str) -> dict[str, Any]:
    """Return the filters a search message names beside its industry ("bakeries in Jurong
    incorporated after 2015" -> place and years)."""
    found, _, _ = _filters(_clean(text[:600])[:300]) if isinstance(text, str) else ({}, [], "")
    return found


# A question asking for companies ("are there any bakeries in Jurong?", "do you have
# logistics companies?"; "who makes packaging?" is ``nodes.terms.ASKED``).
_ASKS_FOR = re.compile(
    r"^(?:are there|is there|do you have|have you got|got any|any|where (?:can|could|do|should)"
    r" (?:i|we) (?:find|get|buy|source)|(?:can|could) you (?:find|show|get|list|search))\b"
)
_QUESTION = re.compile(
    r"^(?:what|who|where|when|which|how|can|could|would|will|should|is|are|do|does|did|why)\b"
)


# ------------------------------------------------------------------ contacts
# People and contact details of a lead the registry does not hold ("who are the directors of
# #1?", "do you have their phone numbers?"): answered with what it holds. A contact word
# alone is an industry ("website designers", "phone shops"), so the message must point at
# the leads (a rank or a pronoun) or ask how to reach them.
_CONTACT = re.compile(
    r"""
    \b(?:contacts? | contact\s+(?:details?|info(?:rmation)?|persons?|people|numbers?)
      | (?:tele)?phones?(?:\s+(?:numbers?|nos?))? | tel(?:\s+nos?)? | mobiles?(?:\s+numbers?)?
      | e-?mails?(?:\s+address(?:es)?)? | websites? | web\s+sites? | urls? | linkedin
      | directors? | owners? | founders? | ceos? | managing\s+directors? | shareholders?
      | decision[\s-]?makers? | key\s+people | names\s+of\s+the\s+officers
      | who\s+(?:runs|owns|manages|is\s+in\s+charge\s+(?:of|at))
      | who\s+(?:should\s+)?(?:i|we)\s+(?:call|contact|email|speak\s+to|talk\s+to))\b
    """,
    re.VERBOSE,
)
_LEAD_REF = re.compile(
    r"\b(?:them|their|they|these|those|its|this\s+(?:one|company|lead)"
    r"|it(?!\s+(?:compan|firm|service|consult|solution|support|vendor|provider))"
    r"|that\s+(?:one|company|lead)|the\s+(?:company|companies|leads?|ones?|list|results))\b"
    r"|^how\s+(?:do|can|could|should)\s+(?:i|we)\s+(?:contact|reach|call|email|get\s+in\s+touch)"
)


def _contact(t: str) -> Parsed | None:
    """A contact question: about one lead (by rank) the explain node reads it and gives its
    registered address; about the leads in general, small talk says what the registry has."""
    if not _CONTACT.search(t) or not (_RANK.search(t) or _LEAD_REF.search(t)):
        return None
    m = _RANK.search(t)
    if m is None:
        return Parsed("chat", {"kind": "contact"})
    rank = int(m.group("n") or m.group("o")) if m.group("n") or m.group("o") else None
    rank = rank if rank is not None else _ORDINALS[m.group("w")]
    return Parsed("explain", {"rank": rank, "contact": True})


def parse(text: str) -> Parsed:
    """Return what a message in a thread asks (see the module's docstring)."""
    if not isinstance(text, str):
        return Parsed("chat", {"kind": "unclear"})
    count = more_request(text)
    if count is not None:
        return Parsed("more", {"count": count})
    t = _clean(text[:600])[:300]
    if not t:
        return Parsed("chat", {"kind": "unclear"})
    chat = _chat(t)
    if chat:
        return chat
    if _CLEAR_ALL.search(t):
        return Parsed("refine", {"clear": ["all"]})
    if _SCORING.search(t) and not _RANK.search(t):
        return Parsed("chat", {"kind": "scoring"})
    for check in (_hide, _like, _contact, _job, _explain, _top):
        parsed = check(t)
        if parsed:
            return parsed
    if _SORT.search(t):
        return Parsed("chat", {"kind": "sort"})
    if _COUNT.match(t) and not set(re.findall(r"[a-z']+", _COUNT.sub(" ", t))) - _COUNT_WORDS:
        return Parsed("chat", {"kind": "count"})
    if _BARE_EXPORT.match(t):  # an industry ("export") when the thread has no search yet
        return Parsed("chat", {"kind": "export", "bare": True})
    found, clear, rest = _filters(t)
    if _EXPORT.search(t):
        return Parsed("chat", {"kind": "export"})
    if not found and _SIZE.search(t) and _only_filler(_SIZE.sub(" ", rest)):
        return Parsed("chat", {"kind": "size"})
    if (found or clear) and _only_filler(rest):
        slots: Slots = {"filters": found} if found else {}
        return Parsed("refine", {**slots, **({"clear": clear} if clear else {})})
    for check in (_industries, _more):
        parsed = check(t)
        if parsed:
            return parsed
    place = _misspelt_place(t)
    if place:
        sectors = sorted(set(place_sectors(place) or ()))
        return Parsed("refine", {"filters": {"places": [place], "sectors": sectors}})
    if _COUNT.match(t):  # "how many bakeries are there?": the search answers with its counts
        words = [w for w in re.findall(r"[\w&'-]+", _COUNT.sub(" ", t)) if w not in _COUNTED]
        if words:
            return Parsed("search", {"op": "new", "terms": " ".join(words), "count": True})
    if _QUESTION.match(t) and ("?" in text or len(t.split()) > 2):
        # "are there any bakeries in Jurong?", "who makes packaging?": a question naming an
        # industry searches it; any other question gets a question back.
        terms = [term.full for term in extract(text).terms]
        if all(_CONTACT.fullmatch(term) for term in terms) and _CONTACT.search(t):
            return Parsed("chat", {"kind": "contact"})  # "do you have emails?"
        if terms and (_ASKS_FOR.match(t) or ASKED.match(t)):
            return Parsed("search", {"op": "new"})
        return Parsed("chat", {"kind": "unclear"})
    return Parsed("search", {"op": "new", "terms": t})
