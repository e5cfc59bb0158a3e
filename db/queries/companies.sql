-- Registry rows become companies, enriched from the registry and scored for a tenant's
-- saved search. upsert_scored is one set-based statement; its source placeholder is one of
-- the *_source blocks below, each selecting the staging rows to process.
-- The score (README "Lead score") is fit(code) + the registry-only prior of the row
-- (staging_acra_companies.registry_prior, migration 0010); a company that is not live is
-- capped at 20.

-- name: head_source
-- The true top %(limit)s live matching rows by fit + prior, ties by UEN, without sorting
-- every match. The search's codes fall in a few groups of equal fit (one per match
-- strength, for primary codes and for secondary-only matches); within a group the order
-- is the prior's, so the overall top is among each group's first %(limit)s rows:
--  * a broad group (at least 1/200 of the registry's live rows, from the loader's counts)
--    walks staging_live_prior_idx (registry_prior DESC, uen) WHERE is_live, which holds
--    both codes, until %(limit)s rows match: a few hundred index entries;
--  * a narrow group merges the first %(limit)s rows of each of its codes from
--    staging_live_ssic_prior_idx / staging_live_secondary_prior_idx.
-- Gated branches (one-time filters) run only for their kind of group. Filters written
-- "(code || '') = ANY(...)" are not estimated per array element: planning a 355-code
-- search stays short. Companies that
-- are not live never enter the head. Each row carries the code it matched by
-- (match_code) and whether that is its secondary code.
WITH h AS (
    SELECT * FROM unnest(%(codes)s::text[], %(weights)s::real[]) AS h(code, weight)
), groups AS (
    SELECT false AS secondary, icp_points_fit(h.weight) AS fit, array_agg(h.code) AS codes,
           coalesce(sum(c.n_live), 0) AS live
    FROM h LEFT JOIN staging_ssic_counts c ON c.code = h.code
    GROUP BY 2
    UNION ALL
    SELECT true, icp_points_fit_secondary(h.weight), array_agg(h.code),
           coalesce(sum(p.live), 0)
    FROM h LEFT JOIN (
        SELECT secondary_code, sum(n_live) AS live FROM staging_ssic_pair_counts
        WHERE secondary_code = ANY(%(codes)s::text[])
          AND NOT (primary_code || '') = ANY(%(codes)s::text[])
        GROUP BY 1) p ON p.secondary_code = h.code
    GROUP BY 2
), sized AS (
    SELECT g.*, g.live * 200 >= (SELECT coalesce(sum(n_live), 0) FROM staging_ssic_counts)
                AS broad
    FROM groups g
), candidates AS (
    SELECT g.fit + t.registry_prior AS rank_score, t.uen, t.match_code, g.secondary
    FROM sized g
    CROSS JOIN LATERAL (
        (SELECT x.uen, x.registry_prior,
                CASE WHEN g.secondary THEN x.secondary_ssic_code
                     ELSE x.primary_ssic_code END AS match_code
         FROM staging_acra_companies x
         WHERE g.broad AND x.is_live
           -- "|| ''": never an index condition, so the walk stays in prior order; the
           -- search's codes (a constant array, looked up by hash) reject most rows first.
           AND CASE WHEN g.secondary
                    THEN (x.secondary_ssic_code || '') = ANY(%(codes)s::text[])
                         AND NOT coalesce((x.primary_ssic_code || '') = ANY(%(codes)s::text[]), false)
                         AND x.secondary_ssic_code = ANY(g.codes)
                    ELSE (x.primary_ssic_code || '') = ANY(%(codes)s::text[])
                         AND x.primary_ssic_code = ANY(g.codes) END
         ORDER BY x.registry_prior DESC, x.uen
         LIMIT %(limit)s)
        UNION ALL
        (SELECT t.uen, t.registry_prior, c.code
         FROM unnest(g.codes) AS c(code)
         CROSS JOIN LATERAL (
             SELECT x.uen, x.registry_prior FROM staging_acra_companies x
             WHERE NOT g.broad AND NOT g.secondary
               AND x.is_live AND x.primary_ssic_code = c.code
             ORDER BY x.registry_prior DESC, x.uen
             LIMIT %(limit)s) t)
        UNION ALL
        (SELECT t.uen, t.registry_prior, c.code
         FROM unnest(g.codes) AS c(code)
         CROSS JOIN LATERAL (
             SELECT x.uen, x.registry_prior FROM staging_acra_companies x
             WHERE NOT g.broad AND g.secondary
               AND x.is_live AND x.secondary_ssic_code = c.code
               AND NOT coalesce((x.primary_ssic_code || '') = ANY(%(codes)s::text[]), false)
             ORDER BY x.registry_prior DESC, x.uen
             LIMIT %(limit)s) t)
    ) t
), top AS (
    SELECT * FROM candidates ORDER BY rank_score DESC, uen LIMIT %(limit)s
)
SELECT s.*, top.match_code, top.secondary AS match_secondary
FROM top JOIN staging_acra_companies s ON s.uen = top.uen

-- name: head_filtered_source
-- The top %(limit)s live matching rows by fit + prior under the filters a search message
-- named ("software companies in the CBD incorporated after 2015"): every live row of the
-- search's codes (primary, or secondary only), gathered by the code indexes, filtered and
-- sorted. It reads all of a search's live rows, so only a search with filters takes it;
-- the statement timeout of the chat's budget bounds it like the head.
WITH h AS (
    SELECT * FROM unnest(%(codes)s::text[], %(weights)s::real[]) AS h(code, weight)
), top AS (
    SELECT x.uen, coalesce(p.code, q.code) AS match_code, p.code IS NULL AS match_secondary
    FROM staging_acra_companies x
    LEFT JOIN h p ON p.code = x.primary_ssic_code
    LEFT JOIN h q ON q.code = x.secondary_ssic_code
    WHERE x.is_live
      AND (x.primary_ssic_code = ANY(%(codes)s::text[])
           OR x.secondary_ssic_code = ANY(%(codes)s::text[]))
      AND (%(year_min)s::int IS NULL
           OR x.registration_incorporation_date >= make_date(%(year_min)s::int, 1, 1))
      AND (%(year_max)s::int IS NULL
           OR x.registration_incorporation_date < make_date(%(year_max)s::int + 1, 1, 1))
      AND (%(sectors)s::text[] IS NULL OR left(x.postal_code, 2) = ANY(%(sectors)s::text[]))
      AND (%(entity)s::text IS NULL
           OR (%(entity)s::text = 'company' AND x.entity_type_description LIKE '%%Company%%')
           OR (%(entity)s::text = 'sole'
               AND x.entity_type_description LIKE 'Sole Proprietorship%%')
           OR (%(entity)s::text = 'partnership'
               AND x.entity_type_description LIKE 'Limited%%Partnership'))
      AND (%(min_officers)s::int IS NULL OR x.no_of_officers >= %(min_officers)s::int)
    ORDER BY CASE WHEN p.code IS NOT NULL THEN icp_points_fit(p.weight)
                  ELSE icp_points_fit_secondary(q.weight) END + x.registry_prior DESC, x.uen
    LIMIT %(limit)s
)
SELECT s.*, top.match_code, top.match_secondary
FROM top JOIN staging_acra_companies s ON s.uen = top.uen

-- name: batch_source
-- The next keyset batch after (after_code, after_uen) over every matching row in
-- (match_code, uen) order, never OFFSET: a merge of the rows matched by their primary code
-- (staging_ssic_uen_idx) and of those matched only by their secondary code
-- (staging_secondary_uen_idx); each row has one key, so the order is total.
SELECT * FROM (
    (SELECT s.*, s.primary_ssic_code AS match_code, false AS match_secondary
     FROM staging_acra_companies s
     -- Only the codes at or after the cursor's: before PostgreSQL 17 an = ANY index scan
     -- re-walks every earlier code's entries (measured on PG15: 119 ms -> 0.8 ms mid-walk).
     WHERE s.primary_ssic_code = ANY(ARRAY(
             SELECT c FROM unnest(%(codes)s::text[]) AS c WHERE c >= %(after_code)s::text))
       AND (s.primary_ssic_code, s.uen) > (%(after_code)s::text, %(after_uen)s::text)
     ORDER BY s.primary_ssic_code, s.uen
     LIMIT %(limit)s)
    UNION ALL
    (SELECT s.*, s.secondary_ssic_code, true
     FROM staging_acra_companies s
     WHERE s.secondary_ssic_code = ANY(ARRAY(
             SELECT c FROM unnest(%(codes)s::text[]) AS c WHERE c >= %(after_code)s::text))
       AND NOT coalesce(s.primary_ssic_code = ANY(%(codes)s::text[]), false)
       AND (s.secondary_ssic_code, s.uen) > (%(after_code)s::text, %(after_uen)s::text)
     ORDER BY s.secondary_ssic_code, s.uen
     LIMIT %(limit)s)
) merged
ORDER BY match_code, uen
LIMIT %(limit)s

-- name: upsert_scored_writes
WITH icp AS (
    -- (Included by upsert_scored and upsert_scored_progress, whose statements start here:
    -- a WITH clause.) The writes of one call: the source's rows upserted into companies,
    -- their scores into lead_scores.
    SELECT * FROM unnest(%(codes)s::text[], %(weights)s::real[], %(terms)s::text[])
        AS icp(code, weight, term)
), src AS (
    /*source*/
), facts AS (
    SELECT src.uen, src.entity_name, src.primary_ssic_code, src.match_code,
           src.match_secondary, mr.title AS match_title,
           coalesce(r.title, initcap(src.primary_ssic_description)) AS industry_norm,
           src.registration_incorporation_date, src.annual_return_date,
           icp_snapshot(src.loaded_at) AS snapshot,
           extract(year FROM src.registration_incorporation_date)::int AS incorporation_year,
           src.entity_status_description, src.is_live, src.entity_type_description,
           src.company_type_description, src.no_of_officers, src.postal_code,
           src.street_name,
           concat_ws(' ', src.block, src.street_name,
                     CASE WHEN src.level_no IS NOT NULL OR src.unit_no IS NOT NULL
                          THEN '#' || concat_ws('-', src.level_no, src.unit_no) END,
                     src.building_name, 'Singapore ' || src.postal_code) AS address,
           (src.postal_code ~ '^[0-9]{6}$' AND src.street_name IS NOT NULL) AS address_complete
    FROM src
    LEFT JOIN ssic_ref r ON r.code = src.primary_ssic_code
    LEFT JOIN ssic_ref mr ON mr.code = src.match_code
), up AS (
    INSERT INTO companies AS c (
        uen, name, industry_norm, industry_code, incorporation_year, incorporation_date,
        entity_status, is_live, entity_type, company_type, officers, postal_code, address,
        address_complete, enriched_by, enriched_at, last_seen)
    SELECT uen, entity_name, industry_norm, primary_ssic_code, incorporation_year,
           registration_incorporation_date, entity_status_description, is_live,
           entity_type_description, company_type_description, no_of_officers, postal_code,
           address, address_complete, 'registry', now(), now()
    FROM facts
    ON CONFLICT (uen) DO UPDATE SET
        name = EXCLUDED.name, industry_norm = EXCLUDED.industry_norm,
        industry_code = EXCLUDED.industry_code,
        incorporation_year = EXCLUDED.incorporation_year,
        incorporation_date = EXCLUDED.incorporation_date,
        entity_status = EXCLUDED.entity_status, is_live = EXCLUDED.is_live,
        entity_type = EXCLUDED.entity_type, company_type = EXCLUDED.company_type,
        officers = EXCLUDED.officers, postal_code = EXCLUDED.postal_code,
        address = EXCLUDED.address, address_complete = EXCLUDED.address_complete,
        enriched_by = EXCLUDED.enriched_by, enriched_at = EXCLUDED.enriched_at,
        last_seen = EXCLUDED.last_seen
    RETURNING c.company_id, c.uen, c.name, c.industry_code, c.industry_norm,
              c.incorporation_year
), parts AS (
    SELECT up.*, f.is_live, f.entity_status_description AS status, f.address,
           f.entity_type_description AS entity_type, f.no_of_officers AS officers,
           f.annual_return_date, f.registration_incorporation_date AS registered,
           f.match_code, f.match_secondary, f.match_title, icp.term,
           CASE WHEN f.match_secondary THEN icp_points_fit_secondary(coalesce(icp.weight, 0))
                ELSE icp_points_fit(coalesce(icp.weight, 0)) END AS p_fit,
           icp_points_filing(f.annual_return_date, f.snapshot) AS p_filing,
           icp_points_age(f.registration_incorporation_date, f.snapshot) AS p_age,
           icp_points_officers(f.no_of_officers) AS p_officers,
           icp_points_entity_type(f.entity_type_description) AS p_type,
           icp_points_address(f.postal_code, f.street_name) AS p_address
    FROM up
    JOIN facts f ON f.uen = up.uen
    LEFT JOIN icp ON icp.code = f.match_code
), scored AS (
    SELECT parts.*,
           CASE WHEN is_live
                THEN least(100, p_fit + p_filing + p_age + p_officers + p_type + p_address)
                ELSE least(20, p_fit + p_filing + p_age + p_officers + p_type + p_address)
           END AS score
    FROM parts
), ins AS (
    INSERT INTO lead_scores AS ls (tenant_id, search_id, company_id, score, bucket, is_live,
                                   rationale, terms, job_id, computed_at, industry_code)
    SELECT %(tenant_id)s, %(search_id)s::bigint, company_id, score,
           icp_lead_bucket(score),  -- its score's range (migration 0023)
           coalesce(is_live, false),
           concat_ws(' · ',
               format('fit %%s (%%s %%s %%s%%s)', p_fit,
                      CASE WHEN match_secondary THEN 'secondary' ELSE 'primary' END, match_code,
                      coalesce(match_title, 'unknown industry'),
                      CASE WHEN term IS NOT NULL THEN format(', matched by %%s',
                                                             quote_literal(term)) END),
               CASE WHEN is_live THEN 'live'
                    ELSE format('%%s: not live, capped at 20',
                                coalesce(lower(status), 'status unknown')) END,
               CASE WHEN annual_return_date IS NOT NULL
                    THEN format('annual return %%s +%%s',
                                to_char(annual_return_date, 'YYYY-MM'), p_filing)
                    ELSE 'no annual return +0' END,
               CASE WHEN officers IS NOT NULL
                    THEN format('%%s officer%%s +%%s', officers,
                                CASE WHEN officers = 1 THEN '' ELSE 's' END, p_officers)
                    ELSE 'officers unknown +0' END,
               CASE WHEN registered IS NOT NULL
                    THEN format('est. %%s +%%s', incorporation_year, p_age)
                    ELSE 'registration date unknown +0' END,
               format('%%s +%%s', coalesce(lower(entity_type), 'entity type unknown'), p_type),
               CASE p_address WHEN 5 THEN 'full address +5' WHEN 2 THEN 'partial address +2'
                    ELSE 'no address +0' END),
           CASE WHEN term IS NULL THEN '{}'::text[] ELSE ARRAY[term] END,
           %(job_id)s::bigint, now(), industry_code
    FROM scored
    ON CONFLICT (tenant_id, search_id, company_id) DO UPDATE SET
        score = EXCLUDED.score, bucket = EXCLUDED.bucket, is_live = EXCLUDED.is_live,
        rationale = EXCLUDED.rationale, terms = EXCLUDED.terms, job_id = EXCLUDED.job_id,
        computed_at = EXCLUDED.computed_at, industry_code = EXCLUDED.industry_code
    RETURNING ls.company_id, ls.score, ls.bucket, ls.rationale
)
-- name: upsert_scored
/*= upsert_scored_writes */
-- The writes, then every written row best first (the chat's head shows them).
SELECT ins.company_id, s.uen, s.name, s.industry_code, s.industry_norm, ins.score, ins.bucket,
       ins.rationale, s.status, s.is_live, s.incorporation_year, s.address,
       s.match_code, %(search_id)s::bigint AS search_id
FROM ins JOIN scored s USING (company_id)
ORDER BY ins.score DESC, s.uen

-- name: upsert_scored_progress
/*= upsert_scored_writes */
-- The writes, then what the runner records of a batch: how many rows, and the last key
-- in the source's (match_code, uen) order (its next cursor); no rows sent back.
SELECT (SELECT count(*) FROM ins)::int AS rows, last.match_code, last.uen
FROM (SELECT) AS one
LEFT JOIN LATERAL (
    SELECT s.match_code, s.uen FROM ins JOIN scored s USING (company_id)
    ORDER BY s.match_code DESC, s.uen DESC
    LIMIT 1) last ON true

-- name: count_matching
-- Exact matching staging rows from the loader-maintained counts: per primary code, plus the
-- rows matched only by their secondary code (the code pairs whose secondary code is in the
-- search and whose primary code is not).
SELECT p.total + x.total AS total, p.live + x.live AS live
FROM (SELECT coalesce(sum(n), 0)::bigint AS total, coalesce(sum(n_live), 0)::bigint AS live
      FROM staging_ssic_counts WHERE code = ANY(%(codes)s::text[])) p,
     (SELECT coalesce(sum(n), 0)::bigint AS total, coalesce(sum(n_live), 0)::bigint AS live
      FROM staging_ssic_pair_counts
      WHERE secondary_code = ANY(%(codes)s::text[])
        AND NOT (primary_code || '') = ANY(%(codes)s::text[])) x

-- name: count_matching_by_term
-- count_matching per term: each subclass belongs to the one term that reached it, and a
-- row to the code it matched by, so the terms' counts add up to the search's.
WITH t AS (
    SELECT * FROM unnest(%(codes)s::text[], %(terms)s::text[]) AS t(code, term)
), secondary AS (
    SELECT secondary_code AS code, sum(n) AS n, sum(n_live) AS n_live
    FROM staging_ssic_pair_counts
    WHERE secondary_code = ANY(%(codes)s::text[])
      AND NOT (primary_code || '') = ANY(%(codes)s::text[])
    GROUP BY 1
)
SELECT t.term, (coalesce(sum(p.n), 0) + coalesce(sum(x.n), 0))::bigint AS total,
       (coalesce(sum(p.n_live), 0) + coalesce(sum(x.n_live), 0))::bigint AS live
FROM t
LEFT JOIN staging_ssic_counts p ON p.code = t.code
LEFT JOIN secondary x ON x.code = t.code
GROUP BY t.term

-- name: sample_matching
-- A preview sample without writes: the head step's pick (the true top live companies by
-- score), only read. The placeholder is replaced by the head_source block.
SELECT uen, entity_name AS name, primary_ssic_code AS industry_code, is_live
FROM (/*source*/) AS pick

-- name: ensure_search
-- The tenant's saved search for this code set (created on first use): repeating a search
-- returns the same id; the terms are the latest wording; the match weights are the first
-- ones given (migration 0025), returned so every wording scores alike.
INSERT INTO icp_searches AS x (tenant_id, terms, codes, codes_key, weights)
VALUES (%(tenant_id)s, %(terms)s::text[], %(codes)s::text[],
        md5(array_to_string(%(codes)s::text[], ',')), %(weights)s::real[])
ON CONFLICT (tenant_id, codes_key) DO UPDATE
    SET terms = EXCLUDED.terms, used_at = now(), weights = coalesce(x.weights, EXCLUDED.weights)
RETURNING x.search_id, x.weights

-- name: list_searches
-- A tenant's saved searches, latest first, with their registry counts (as count_matching)
-- and how many of their companies are scored so far: the sum of the search's score count
-- deltas (icp_search_scored, written as scores are; migration 0013), never a count of
-- lead_scores. The page of searches is taken first (icp_searches_tenant_idx), then each
-- one's counts: its codes joined to the per-code counts (a "code = ANY(x.codes)" filter
-- compared every count row with every code of the search: 11 ms for a 355-code search).
WITH page AS MATERIALIZED (
    SELECT x.search_id, x.terms, x.codes, x.created_at, x.used_at
    FROM icp_searches x
    WHERE x.tenant_id = %(tenant_id)s
    ORDER BY x.search_id DESC
    LIMIT %(limit)s
)
SELECT x.search_id, x.terms, x.codes, x.created_at, x.used_at,
       (p.total + o.total)::bigint AS total, (p.live + o.live)::bigint AS live,
       (SELECT coalesce(sum(k.n), 0) FROM icp_search_scored k
        WHERE k.search_id = x.search_id)::bigint AS scored
FROM page x
CROSS JOIN LATERAL (
    SELECT coalesce(sum(c.n), 0) AS total, coalesce(sum(c.n_live), 0) AS live
    FROM unnest(x.codes) AS u(code)
    JOIN staging_ssic_counts c ON c.code = u.code) p
CROSS JOIN LATERAL (
    SELECT coalesce(sum(c.n), 0) AS total, coalesce(sum(c.n_live), 0) AS live
    FROM unnest(x.codes) AS u(code)
    JOIN staging_ssic_pair_counts c ON c.secondary_code = u.code
    LEFT JOIN unnest(x.codes) AS v(code) ON v.code = c.primary_code
    WHERE v.code IS NULL) o
ORDER BY x.search_id DESC
