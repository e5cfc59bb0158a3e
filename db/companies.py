"""Turn matching registry rows into enriched, scored companies (shared by chat and runner).

One set-based statement per call: select staging rows (the chat's head pick, the true
top of the search by score, or the runner's next keyset batch), upsert them into
``companies`` with registry-derived enrichment, and write the scores of the tenant's saved
search (``lead_scores`` per tenant, search and company; ``icp_searches`` holds the
searches). Statements that carry the ICP code list are executed unprepared: a generic plan
for a large ``= ANY(...)`` list was measured 5x slower than a custom one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from db.queries import q

Source = Literal["head_source", "head_filtered_source", "batch_source"]
FILTER_KEYS = (
    "live", "year_min", "year_max", "sectors", "entity", "min_officers", "min_score", "max_score"
)
"""The lead filters a page binds (NULL: not filtered). ``min_score`` and ``max_score`` apply to
scored rows only (search_leads_filtered_page): the head sources select rows before they are
scored."""
def lead_filter_params(filters: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return what the ``lead_filters`` block of db/queries/followups.sql binds: each of
    ``FILTER_KEYS`` and ``hidden`` (company ids to leave out), None where not filtered."""
    given = filters or {}
    return {
        **{k: given.get(k) for k in FILTER_KEYS},
        "hidden": list(given["hidden"]) if given.get("hidden") else None,
    }


BUCKET_MIN = {"high": 85, "medium": 65}
"""The lowest score of each bucket above "low": the CASE of upsert_scored_writes in
db/queries/companies.sql (README "Lead score"); a bucket filter is a score range (medium:
65 to 84, low: up to 64)."""


@dataclass(frozen=True)
class IcpCode:
    """One SSIC subclass in a tenant's ICP, with the term that reached it."""

    code: str
    weight: float
    term: str
    title: str = ""


def icp_params(codes: Sequence[IcpCode]) -> dict[str, list[Any]]:
    """Return the array parameters every ICP statement binds."""
    ordered = sorted(codes, key=lambda c: c.code)
    return {
        "codes": [c.code for c in ordered],
        "weights": [float(c.weight) for c in ordered],
        "terms": [c.term for c in ordered],
    }


def with_source(block: str, source: Source) -> str:
    """Return the named block with its ``/*source*/`` placeholder filled by a source block."""
    return q(block).replace("/*source*/", q(source))


def _upsert_params(
    codes: Sequence[IcpCode],
    *,
    tenant_id: str,
    search_id: int,
    limit: int,
    job_id: int | None,
    after: tuple[str, str],
    filters: Mapping[str, Any] | None,
) -> dict[str, Any]:
    given = filters or {}
    return {
        **{k: given.get(k) for k in FILTER_KEYS},
        **icp_params(codes),
        "tenant_id": tenant_id,
        "search_id": search_id,
        "limit": limit,
        "job_id": job_id,
        "after_code": after[0],
        "after_uen": after[1],
    }


async def upsert_scored(
    conn: AsyncConnection[Any],
    source: Source,
    codes: Sequence[IcpCode],
    *,
    tenant_id: str,
    search_id: int,
    limit: int,
    job_id: int | None = None,
    after: tuple[str, str] = ("", ""),
    filters: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Upsert, enrich and score up to ``limit`` matching rows for one saved search; return
    them best first (ties by UEN). ``filters`` bind ``head_filtered_source``."""
    params = _upsert_params(codes, tenant_id=tenant_id, search_id=search_id, limit=limit,
                            job_id=job_id, after=after, filters=filters)  # fmt: skip
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(with_source("upsert_scored", source), params, prepare=False)
        return await cur.fetchall()


async def upsert_scored_batch(
    conn: AsyncConnection[Any],
    codes: Sequence[IcpCode],
    *,
    tenant_id: str,
    search_id: int,
    limit: int,
    job_id: int | None,
    after: tuple[str, str],
) -> tuple[int, tuple[str, str] | None]:
    """The runner's batch: upsert_scored over the next ``limit`` rows after ``after``
    (batch_source); return how many it wrote and the last one's key (None: none), without
    sending the rows back."""
    params = _upsert_params(codes, tenant_id=tenant_id, search_id=search_id, limit=limit,
                            job_id=job_id, after=after, filters=None)  # fmt: skip
    cur = await conn.execute(
        with_source("upsert_scored_progress", "batch_source"), params, prepare=False
    )
    row = await cur.fetchone()
    assert row is not None  # one row always (the count)
    rows, code, uen = row
    return int(rows), None if code is None else (str(code), str(uen))


async def count_matching(conn: AsyncConnection[Any], codes: Sequence[str]) -> tuple[int, int]:
    """Return (matching staging rows, of which live) for the SSIC codes."""
    cur = await conn.execute(q("count_matching"), {"codes": list(codes)})
    row = await cur.fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


async def count_matching_by_term(
    conn: AsyncConnection[Any], codes: Sequence[IcpCode]
) -> dict[str, tuple[int, int]]:
    """Return per term (matching staging rows, of which live) for the codes it reached."""
    cur = await conn.execute(
        q("count_matching_by_term"),
        {"codes": [c.code for c in codes], "terms": [c.term for c in codes]},
    )
    return {str(term): (int(total), int(live)) for term, total, live in await cur.fetchall()}


async def ensure_search(
    conn: AsyncConnection[Any],
    *,
    tenant_id: str,
    terms: Sequence[str],
    codes: Sequence[IcpCode] | Sequence[str],
) -> int:
    """Return the id of the tenant's saved search for this code set, creating it once."""
    search_id, _ = await saved_search(conn, tenant_id=tenant_id, terms=terms, codes=codes)
    return search_id


async def saved_search(
    conn: AsyncConnection[Any],
    *,
    tenant_id: str,
    terms: Sequence[str],
    codes: Sequence[IcpCode] | Sequence[str],
) -> tuple[int, list[IcpCode]]:
    """Return the id of the tenant's saved search for this code set (created once) and the
    codes with the match weights the search keeps (the first ones given, migration 0025):
    score with those, so every wording of a code set scores its companies alike. Plain
    code strings record no weights."""
    icp = [c for c in codes if isinstance(c, IcpCode)]
    code_list = sorted({c if isinstance(c, str) else c.code for c in codes})
    given = {c.code: c.weight for c in icp}
    weights = [given[c] for c in code_list] if len(given) == len(code_list) else None
    cur = await conn.execute(
        q("ensure_search"),
        {"tenant_id": tenant_id, "terms": list(terms), "codes": code_list, "weights": weights},
        prepare=False,
    )
    row = await cur.fetchone()
    assert row is not None  # INSERT ... ON CONFLICT DO UPDATE ... RETURNING always answers
    kept = dict(zip(code_list, row[1], strict=True)) if row[1] else given
    return int(row[0]), [IcpCode(c.code, float(kept.get(c.code, c.weight)), c.term, c.title)
                         for c in icp]  # fmt: skip


async def list_searches(
    conn: AsyncConnection[Any], *, tenant_id: str, limit: int = 100
) -> list[dict[str, Any]]:
    """Return the tenant's saved searches, latest first, with total, live and scored counts."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(q("list_searches"), {"tenant_id": tenant_id, "limit": limit})
        return await cur.fetchall()


async def scored_leads_page(
    conn: AsyncConnection[Any],
    *,
    tenant_id: str,
    search_id: int,
    shown: Sequence[int],
    limit: int,
    filters: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Return one saved search's best scored companies, leaving out ``shown``, within the
    thread's filters (``graph.state.LeadFilters``; db/queries/followups.sql; ``live``:
    True live only, False not live, None any status)."""
    params = {
        "tenant_id": tenant_id,
        "search_id": search_id,
        "shown": list(shown),
        "limit": limit,
        **lead_filter_params(filters),
    }
    async with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        # No parallel workers for a page of a few rows: under a filter that keeps few of the
        # search's scores ("in Jurong"), the planner expects a long walk and starts two
        # (Gather Merge), which costs more than the walk: 8.7 vs 1.6 ms p50 at 1M rows.
        await cur.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        await cur.execute(q("search_leads_filtered_page"), params, prepare=False)
        return await cur.fetchall()


async def sample_matching(
    conn: AsyncConnection[Any], codes: Sequence[IcpCode] | Sequence[str], limit: int = 20
) -> list[dict[str, Any]]:
    """Return the top ``limit`` live matching staging rows by score without writing anything
    (plain code strings count as fully matched codes)."""
    icp = [c if isinstance(c, IcpCode) else IcpCode(c, 1.0, "") for c in codes]
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            with_source("sample_matching", "head_source"),
            {**icp_params(icp), "limit": limit},
            prepare=False,
        )
        return await cur.fetchall()


def row_key(row: Mapping[str, Any]) -> tuple[str, str]:
    """Return the runner's keyset key (match_code, uen) of an upserted row: the search code
    it matched by (its primary code, or its secondary code when only that matches)."""
    return (str(row["match_code"]), str(row["uen"]))
