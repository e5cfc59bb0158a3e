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

-- name: leads_search_filter
AND ls.search_id = %(only_search)s::bigint

-- name: leads_live_filter
AND ls.is_live

-- name: leads_industry_filter
AND c.industry_code LIKE %(industry_prefix)s::text || '%%'

-- name: companies_page
-- The tenant's companies (those its searches scored) by id, optionally within an SSIC code
-- prefix: walks companies by id from the cursor on, each row checked against the tenant's
-- scores by lead_scores_tenant_company_idx (tenant_id, company_id), so a company scored by
-- several searches is listed once.
SELECT c.company_id, c.uen, c.name, c.industry_code, c.industry_norm, c.incorporation_year,
       c.entity_status, c.is_live, c.postal_code
FROM companies c
WHERE c.company_id > %(company_id)s::bigint
  AND EXISTS (SELECT 1 FROM lead_scores ls
              WHERE ls.tenant_id = %(tenant_id)s AND ls.company_id = c.company_id
                -- the same bound, so a merge join starts both walks at the cursor
                AND ls.company_id > %(company_id)s::bigint)
  /*filters*/
ORDER BY c.company_id
LIMIT %(limit)s

-- name: companies_by_name_page
-- The tenant's companies whose lowercased name starts with a prefix, in
-- (lower(name), company_id) order; each row of the name range is checked against the
-- tenant's scores by their primary key.
-- Both the prefix LIKE and the keyset use the pattern operators (~>=~, ~>~) so the walk
-- stays on companies_lower_name_idx (lower(name) text_pattern_ops, company_id), whose
-- order is byte order whatever the database's collation; the statement is run unprepared
-- so the planner turns the bound prefix into an index range.
SELECT c.company_id, c.uen, c.name, c.industry_code, c.industry_norm, c.incorporation_year,
       c.entity_status, c.is_live, c.postal_code, lower(c.name) AS name_key
FROM companies c
WHERE lower(c.name) LIKE lower(%(name_prefix)s::text) || '%%'
  AND lower(c.name) ~>=~ %(name_key)s::text
  AND (lower(c.name) ~>~ %(name_key)s::text OR c.company_id > %(company_id)s::bigint)
  AND EXISTS (SELECT 1 FROM lead_scores ls
              WHERE ls.tenant_id = %(tenant_id)s AND ls.company_id = c.company_id)
  /*filters*/
ORDER BY lower(c.name) USING ~<~, c.company_id
LIMIT %(limit)s

-- name: companies_industry_filter
AND c.industry_code LIKE %(industry_prefix)s::text || '%%'
