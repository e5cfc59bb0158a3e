-- Reads of the chat's follow-ups on the active saved search (``search_id``): the next page
-- of its scored leads under the thread's filters, and the scored companies an explanation
-- is about. Nothing here writes. Run unprepared: each bound filter that is NULL folds away,
-- so every combination gets a plan of its own.

-- name: search_leads_filtered_page
-- One search's scored leads, best first, leaving out the ones already shown in the thread,
-- filtered by status, incorporation years, postal sectors, entity type, officers and a
-- minimum score. It walks lead_scores_search_rank_idx (tenant_id, search_id, score DESC,
-- company_id DESC) and stops after the page (a minimum score ends the range earlier). The
-- chat passes live = true unless the thread asked for any status (NULL; companies that are
-- not live are capped at 20 points, so they come last) or for those no longer live (false).
SELECT ls.company_id, c.uen, c.name, c.industry_code, c.industry_norm, ls.score::int AS score,
       ls.bucket, ls.rationale, c.entity_status AS status, c.is_live, c.incorporation_year,
       c.address, c.postal_code, ls.search_id
FROM lead_scores ls
JOIN companies c ON c.company_id = ls.company_id
WHERE ls.tenant_id = %(tenant_id)s
  AND ls.search_id = %(search_id)s::bigint
  AND ls.company_id <> ALL(%(shown)s::bigint[])
  /*= lead_filters */
ORDER BY ls.score DESC, ls.company_id DESC
LIMIT %(limit)s

-- name: lead_filters
-- (Included by search_leads_filtered_page and search_leads_export: the chat's pages and the
-- file filter alike.) A thread's filters on a search's scored leads: status, incorporation
-- years, postal sectors, entity type, officers, score range, companies the user hid ("hide
-- #2"); NULL: not filtered.
AND (%(live)s::boolean IS NULL OR c.is_live = %(live)s::boolean)
AND (%(year_min)s::int IS NULL OR c.incorporation_year >= %(year_min)s::int)
AND (%(year_max)s::int IS NULL OR c.incorporation_year <= %(year_max)s::int)
AND (%(sectors)s::text[] IS NULL OR left(c.postal_code, 2) = ANY(%(sectors)s::text[]))
AND (%(entity)s::text IS NULL
     OR (%(entity)s::text = 'company' AND c.entity_type LIKE '%%Company%%')
     OR (%(entity)s::text = 'sole' AND c.entity_type LIKE 'Sole Proprietorship%%')
     OR (%(entity)s::text = 'partnership' AND c.entity_type LIKE 'Limited%%Partnership'))
AND (%(min_officers)s::int IS NULL OR c.officers >= %(min_officers)s::int)
AND (%(min_score)s::int IS NULL OR ls.score >= %(min_score)s::int)
AND (%(max_score)s::int IS NULL OR ls.score <= %(max_score)s::int)
AND (%(hidden)s::bigint[] IS NULL OR ls.company_id <> ALL(%(hidden)s::bigint[]))

-- name: scored_companies
-- One saved search's scores of some companies (an explanation of ranked rows), by key.
SELECT ls.company_id, c.uen, c.name, c.industry_code, c.industry_norm, ls.score::int AS score,
       ls.bucket, ls.rationale, c.entity_status AS status, c.is_live, c.incorporation_year,
       c.address, c.postal_code, c.entity_type, c.officers
FROM lead_scores ls
JOIN companies c ON c.company_id = ls.company_id
WHERE ls.tenant_id = %(tenant_id)s AND ls.search_id = %(search_id)s::bigint
  AND ls.company_id = ANY(%(ids)s::bigint[])

-- name: scored_companies_by_name
-- One saved search's scored companies whose lowercased name starts with a prefix ("why
-- Sunrise?"), best first: a range of companies_lower_name_idx, each checked against the
-- search's scores by their primary key.
SELECT ls.company_id, c.uen, c.name, c.industry_code, c.industry_norm, ls.score::int AS score,
       ls.bucket, ls.rationale, c.entity_status AS status, c.is_live, c.incorporation_year,
       c.address, c.postal_code, c.entity_type, c.officers
FROM companies c
JOIN lead_scores ls ON ls.tenant_id = %(tenant_id)s AND ls.search_id = %(search_id)s::bigint
                   AND ls.company_id = c.company_id
WHERE lower(c.name) LIKE %(prefix)s::text || '%%'
ORDER BY ls.score DESC, ls.company_id DESC
LIMIT %(limit)s

-- name: tenant_search
-- One of the tenant's saved searches (NULL row when it is not the tenant's).
SELECT search_id, terms, codes FROM icp_searches
WHERE tenant_id = %(tenant_id)s AND search_id = %(search_id)s::bigint

-- name: search_leads_export
-- One saved search's scored leads for a file, best first, from a keyset position on, under
-- the same filters as the chat's pages: walks lead_scores_search_rank_idx (tenant_id,
-- search_id, score DESC, company_id DESC) from the row comparison and stops after
-- %(limit)s rows; the file is read in such chunks inside one repeatable-read transaction,
-- so it is one consistent snapshot.
SELECT ls.company_id, ls.score::int AS score, ls.bucket, c.uen, c.name,
       c.entity_status AS status, c.is_live, c.industry_code, c.industry_norm,
       c.incorporation_year, c.entity_type, c.officers, c.address, c.postal_code, ls.rationale
FROM lead_scores ls
JOIN companies c ON c.company_id = ls.company_id
WHERE ls.tenant_id = %(tenant_id)s AND ls.search_id = %(search_id)s::bigint
  AND (ls.score, ls.company_id) < (%(score)s::smallint, %(company_id)s::bigint)
  /*= lead_filters */
ORDER BY ls.score DESC, ls.company_id DESC
LIMIT %(limit)s
