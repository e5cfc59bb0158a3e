-- Keyset pages of the /leads and /companies lists. Never OFFSET, never COUNT(*).
-- Each page statement carries a /*filters*/ placeholder that the route fills with the
-- fixed *_filter blocks below (values are always bound), so each filter combination is
-- its own plan that can use its own index.

-- name: leads_page
-- A tenant's scored companies (one row per saved search that scored them), best first:
-- walks lead_scores_rank_idx (tenant_id, score DESC, company_id DESC, search_id DESC),
-- lead_scores_bucket_rank_idx with a bucket, or lead_scores_search_rank_idx with a
-- search, from the row comparison on, and stops after %(limit)s rows. Companies that are
-- not live are capped at 20 points, so the live filter only skips the list's tail.
SELECT ls.company_id, ls.search_id, c.uen, c.name, c.industry_code, c.industry_norm,
       c.incorporation_year, ls.score::int AS score, ls.bucket, ls.rationale,
       c.entity_status AS status, ls.is_live, c.address
FROM lead_scores ls
JOIN companies c ON c.company_id = ls.company_id
WHERE ls.tenant_id = %(tenant_id)s
  AND (ls.score, ls.company_id, ls.search_id)
      < (%(score)s::smallint, %(company_id)s::bigint, %(search_id)s::bigint)
  /*filters*/
ORDER BY ls.score DESC, ls.company_id DESC, ls.search_id DESC
LIMIT %(limit)s

-- name: leads_bucket_filter
AND ls.bucket = %(bucket)s::text

-- name: leads_bucket_range_filter
-- (With leads_bucket_filter, in leads_industry_page.) A bucket is a range of scores (the
-- constraint lead_scores_bucket_of_score, migration 0023): each code's walk stops below
-- the bucket's floor, and starts at its top score (the walk's row comparison).
AND ls.score BETWEEN icp_bucket_min(%(bucket)s::text) AND icp_bucket_max(%(bucket)s::text)

-- name: leads_search_filter
AND ls.search_id = %(only_search)s::bigint

-- name: leads_live_filter
AND ls.is_live

-- name: tenant_codes
-- (Included by the *_industry_page blocks: a WITH clause.) The distinct SSIC codes of the
-- tenant's scores within the code prefix %(industry_prefix)s (codes.code; a last NULL
-- row ends the walk), one probe of lead_scores_industry_rank_idx each: each step is the
-- first code after the previous one, so a prefix costs as many probes as it has codes.
WITH RECURSIVE codes (code) AS (
    (SELECT ls.industry_code FROM lead_scores ls
     WHERE ls.tenant_id = %(tenant_id)s
       AND ls.industry_code >= %(industry_prefix)s::text
       AND ls.industry_code < %(industry_prefix)s::text || '~'
     ORDER BY ls.industry_code
     LIMIT 1)
    UNION ALL
    SELECT (SELECT ls.industry_code FROM lead_scores ls
            WHERE ls.tenant_id = %(tenant_id)s
              AND ls.industry_code > codes.code
              AND ls.industry_code < %(industry_prefix)s::text || '~'
            ORDER BY ls.industry_code
            LIMIT 1)
    FROM codes
    WHERE codes.code IS NOT NULL
)

-- name: leads_industry_page
-- leads_page within an SSIC code prefix (1-5 digits), without a plan that depends on how
-- rare the code is: each score carries its company's code (lead_scores.industry_code,
-- collation "C", migration 0013). A broad prefix's page comes from the tenant's best keys
-- in score order (ranked, below: a few hundred index entries at any size, migration 0024);
-- only when those 2,000 keys hold less than a page of it, the walk per code: the codes of
-- the tenant's scores within the prefix are
-- found by skipping along lead_scores_industry_rank_idx (tenant_id, industry_code, score
-- DESC, company_id DESC, search_id DESC) INCLUDE (bucket, is_live), one probe per code;
-- per code the same index gives its best keys from the cursor on, at most %(limit)s; the
-- page is the best %(limit)s of those (a 5-digit code: one walk of one index range). The
-- other filters (bucket, search, live) apply within each code's walk, on the index's own
-- columns (migration 0017): the walks are index-only, and only the page's rows are read
-- from the heap, each by its primary key. A bucket bounds each walk by its score range
-- (leads_bucket_range_filter): bucket=medium does not step over each code's high scores
-- first nor read on through its low ones.
/*= tenant_codes */, ranked AS MATERIALIZED (
    -- A broad prefix first: the tenant's best keys from the cursor on, in score order
    -- (lead_scores_rank_idx, or lead_scores_bucket_rank_idx with a bucket; both carry the
    -- code, bucket and status), at most 2,000, and of those the prefix's best %(limit)s. A
    -- prefix that holds a tenth of the scores fills the page within a few hundred keys.
    SELECT s.company_id, s.search_id, s.score
    FROM (
        SELECT ls.company_id, ls.search_id, ls.score, ls.industry_code
        FROM lead_scores ls
        WHERE ls.tenant_id = %(tenant_id)s
          AND (ls.score, ls.company_id, ls.search_id)
              < (least(%(score)s::smallint, icp_bucket_max(%(bucket)s::text) + 1)::smallint,
                 %(company_id)s::bigint, %(search_id)s::bigint)
          /*filters*/
        ORDER BY ls.score DESC, ls.company_id DESC, ls.search_id DESC
        -- A subquery, so no estimate of the tenant's rows weighs the walk against a sort
        -- of all of them: the planner sees a limit of unknown size and walks the index.
        LIMIT (SELECT 2000)) s
    WHERE s.industry_code >= %(industry_prefix)s::text
      AND s.industry_code < %(industry_prefix)s::text || '~'
    ORDER BY s.score DESC, s.company_id DESC, s.search_id DESC
    LIMIT %(limit)s
), top AS MATERIALIZED (
    -- A full page from the score-order walk is the page: every key above its last one was
    -- read. Otherwise (a rarer prefix, or the prefix's last page) the walk per code, which
    -- runs only then.
    SELECT ranked.* FROM ranked WHERE (SELECT count(*) FROM ranked) = %(limit)s
    UNION ALL
    (SELECT ls.*
    FROM codes
    CROSS JOIN LATERAL (
        SELECT ls.company_id, ls.search_id, ls.score
        FROM lead_scores ls
        WHERE ls.tenant_id = %(tenant_id)s
          AND ls.industry_code = codes.code
          -- With a bucket, a first page starts just above the bucket's top score: the
          -- walk's start is this row comparison (PostgreSQL 15 starts there even beside a
          -- tighter score bound); any later cursor is a row of the bucket already.
          AND (ls.score, ls.company_id, ls.search_id)
              < (least(%(score)s::smallint, icp_bucket_max(%(bucket)s::text) + 1)::smallint,
                 %(company_id)s::bigint, %(search_id)s::bigint)
          /*filters*/
        ORDER BY ls.score DESC, ls.company_id DESC, ls.search_id DESC
        LIMIT %(limit)s) ls
    WHERE codes.code IS NOT NULL AND (SELECT count(*) FROM ranked) < %(limit)s
    ORDER BY ls.score DESC, ls.company_id DESC, ls.search_id DESC
    LIMIT %(limit)s)
)
SELECT ls.company_id, ls.search_id, c.uen, c.name, c.industry_code, c.industry_norm,
       c.incorporation_year, ls.score::int AS score, ls.bucket, ls.rationale,
       c.entity_status AS status, ls.is_live, c.address
FROM top
-- LIMIT 1: a lookup by key per row of the page, never joined as a set
CROSS JOIN LATERAL (
    SELECT ls.company_id, ls.search_id, ls.score, ls.bucket, ls.rationale, ls.is_live
    FROM lead_scores ls
    WHERE ls.tenant_id = %(tenant_id)s AND ls.search_id = top.search_id
      AND ls.company_id = top.company_id
    LIMIT 1) ls
JOIN companies c ON c.company_id = ls.company_id
ORDER BY ls.score DESC, ls.company_id DESC, ls.search_id DESC

-- name: companies_page
-- The tenant's companies (those its searches scored) by id: the tenant's next company ids
-- after the cursor, one probe of lead_scores_tenant_company_idx (tenant_id, company_id)
-- each (a company scored by several searches is listed once), then the companies by key.
-- Each step is an ordered LIMIT 1 on that index, so no statistics make the page read the
-- tenant's other scores (a semi join did: it gathered all of them when the planner believed
-- the tenant had a few hundred).
WITH RECURSIVE ids (company_id) AS (
    (SELECT ls.company_id FROM lead_scores ls
     WHERE ls.tenant_id = %(tenant_id)s AND ls.company_id > %(company_id)s::bigint
     ORDER BY ls.company_id
     LIMIT 1)
    UNION ALL
    SELECT (SELECT ls.company_id FROM lead_scores ls
            WHERE ls.tenant_id = %(tenant_id)s AND ls.company_id > ids.company_id
            ORDER BY ls.company_id
            LIMIT 1)
    FROM ids
    WHERE ids.company_id IS NOT NULL
), page AS MATERIALIZED (
    SELECT company_id FROM ids WHERE company_id IS NOT NULL LIMIT %(limit)s
)
SELECT c.company_id, c.uen, c.name, c.industry_code, c.industry_norm, c.incorporation_year,
       c.entity_status, c.is_live, c.postal_code
FROM page JOIN companies c ON c.company_id = page.company_id
ORDER BY c.company_id

-- name: companies_by_name_page
-- The tenant's companies whose lowercased name starts with a prefix, in
-- (lower(name), company_id) order; each row of the name range is checked against the
-- tenant's scores by their primary key.
-- Both the prefix LIKE and the keyset use the pattern operators (~>=~, ~>~) so the walk
-- stays on companies_lower_name_idx (lower(name) text_pattern_ops, company_id), whose
-- order is byte order whatever the database's collation; the statement is run unprepared
-- so the planner turns the bound prefix into an index range.
-- The page is taken one row at a time, each the next one after the previous row's key (an
-- ordered LIMIT 1 on that index): when the planner expects fewer matches than a page (a
-- code filter, few scored companies), a single walk looked no cheaper than gathering the
-- whole name range and sorting it, and that is what it did.
WITH RECURSIVE walk (name_key, company_id) AS (
    (SELECT lower(c.name), c.company_id
     FROM companies c
     WHERE lower(c.name) LIKE lower(%(name_prefix)s::text) || '%%'
       AND lower(c.name) ~>=~ %(name_key)s::text
       AND (lower(c.name) ~>~ %(name_key)s::text OR c.company_id > %(company_id)s::bigint)
       -- a probe per row of the name range (as EXISTS, an unanalysed table gathered all
       -- the tenant's scores first)
       AND (SELECT true FROM lead_scores ls
            WHERE ls.tenant_id = %(tenant_id)s AND ls.company_id = c.company_id LIMIT 1)
       /*filters*/
     ORDER BY lower(c.name) USING ~<~, c.company_id
     LIMIT 1)
    UNION ALL
    SELECT n.name_key, n.company_id
    FROM walk
    CROSS JOIN LATERAL (
        SELECT lower(c.name) AS name_key, c.company_id
        FROM companies c
        WHERE lower(c.name) LIKE lower(%(name_prefix)s::text) || '%%'
          AND lower(c.name) ~>=~ walk.name_key
          AND (lower(c.name) ~>~ walk.name_key OR c.company_id > walk.company_id)
          AND (SELECT true FROM lead_scores ls
               WHERE ls.tenant_id = %(tenant_id)s AND ls.company_id = c.company_id LIMIT 1)
          /*filters*/
        ORDER BY lower(c.name) USING ~<~, c.company_id
        LIMIT 1) n
), page AS MATERIALIZED (
    SELECT * FROM walk LIMIT %(limit)s
)
SELECT c.company_id, c.uen, c.name, c.industry_code, c.industry_norm, c.incorporation_year,
       c.entity_status, c.is_live, c.postal_code, page.name_key
FROM page JOIN companies c ON c.company_id = page.company_id
ORDER BY page.name_key USING ~<~, page.company_id

-- name: companies_industry_page
-- companies_page within an SSIC code prefix: the tenant's codes within the prefix, found
-- by skipping along lead_scores_industry_rank_idx (as leads_industry_page), then per code
-- companies_industry_code_idx (industry_code, company_id) from the cursor on, each row
-- checked against the tenant's scores, at most %(limit)s per code; the page is the first
-- %(limit)s ids of those. (Walking all companies by id and filtering the code read the
-- tenant's whole list for a rare code; gathering a code's companies and sorting them read
-- a tenth of the registry for 46900.)
/*= tenant_codes */, top AS MATERIALIZED (
    SELECT c.company_id
    FROM codes
    CROSS JOIN LATERAL (
        SELECT c.company_id FROM companies c
        -- the companies' collation, so the comparison is companies_industry_code_idx's
        WHERE c.industry_code = codes.code COLLATE "default"
          AND c.company_id > %(company_id)s::bigint
          AND (SELECT true FROM lead_scores ls
               WHERE ls.tenant_id = %(tenant_id)s AND ls.company_id = c.company_id LIMIT 1)
        ORDER BY c.company_id
        LIMIT %(limit)s) c
    WHERE codes.code IS NOT NULL
    ORDER BY c.company_id
    LIMIT %(limit)s
)
SELECT c.company_id, c.uen, c.name, c.industry_code, c.industry_norm, c.incorporation_year,
       c.entity_status, c.is_live, c.postal_code
FROM top JOIN companies c ON c.company_id = top.company_id
ORDER BY c.company_id

-- name: companies_industry_filter
-- A name page's code prefix, checked on the rows of the name walk (as a LIKE, it became an
-- index range of its own, ANDed with the name range's and sorted).
AND left(c.industry_code, length(%(industry_prefix)s::text)) = %(industry_prefix)s::text
