-- Registry rows become companies, enriched from the registry and scored for a tenant.
-- upsert_scored is one set-based statement; its source placeholder is one of the *_source blocks
-- below, each selecting the staging rows to process.

-- name: head_source
-- Up to %(limit)s matching rows, live entities first, in (primary_ssic_code, uen) order;
-- each branch walks an index and stops early, the second runs only if the first is short.
(SELECT s.* FROM staging_acra_companies s
  WHERE s.is_live AND s.primary_ssic_code = ANY(%(codes)s::text[])
  ORDER BY s.primary_ssic_code, s.uen LIMIT %(limit)s)
UNION ALL
(SELECT s.* FROM staging_acra_companies s
  WHERE NOT s.is_live AND s.primary_ssic_code = ANY(%(codes)s::text[])
  ORDER BY s.primary_ssic_code, s.uen LIMIT %(limit)s)
LIMIT %(limit)s

-- name: batch_source
-- The next keyset batch after (after_code, after_uen); never OFFSET.
SELECT s.* FROM staging_acra_companies s
-- Only the codes at or after the cursor's: before PostgreSQL 17 an = ANY index scan
-- re-walks every earlier code's entries (measured on PG15: 119 ms -> 0.8 ms mid-walk).
WHERE s.primary_ssic_code = ANY(ARRAY(
        SELECT c FROM unnest(%(codes)s::text[]) AS c WHERE c >= %(after_code)s::text))
  AND (s.primary_ssic_code, s.uen) > (%(after_code)s::text, %(after_uen)s::text)
ORDER BY s.primary_ssic_code, s.uen
LIMIT %(limit)s

-- name: upsert_scored
WITH icp AS (
    SELECT * FROM unnest(%(codes)s::text[], %(weights)s::real[], %(terms)s::text[])
        AS icp(code, weight, term)
), src AS (
    /*source*/
), facts AS (
    SELECT src.uen, src.entity_name, src.primary_ssic_code,
           coalesce(r.title, initcap(src.primary_ssic_description)) AS industry_norm,
           src.registration_incorporation_date,
           extract(year FROM src.registration_incorporation_date)::int AS incorporation_year,
           src.entity_status_description, src.is_live, src.entity_type_description,
           src.company_type_description, src.no_of_officers, src.postal_code,
           concat_ws(' ', src.block, src.street_name,
                     CASE WHEN src.level_no IS NOT NULL OR src.unit_no IS NOT NULL
                          THEN '#' || concat_ws('-', src.level_no, src.unit_no) END,
                     src.building_name, 'Singapore ' || src.postal_code) AS address,
           (src.postal_code ~ '^[0-9]{6}$' AND src.street_name IS NOT NULL) AS address_complete,
           (src.postal_code IS NOT NULL OR src.street_name IS NOT NULL) AS address_partial
    FROM src LEFT JOIN ssic_ref r ON r.code = src.primary_ssic_code
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
           f.address_complete, f.address_partial, icp.term, coalesce(icp.weight, 0) AS weight,
           CASE WHEN up.incorporation_year IS NULL THEN NULL
                ELSE extract(year FROM now())::int - up.incorporation_year END AS age,
           round(40 * coalesce(icp.weight, 0))::int AS p_fit,
           CASE WHEN f.is_live THEN 20 ELSE 0 END AS p_live,
           CASE WHEN f.entity_type_description = 'Local Company' THEN 10
                WHEN f.entity_type_description = 'Foreign Company Branch' THEN 8
                WHEN f.entity_type_description LIKE 'Limited%%Partnership' THEN 7
                WHEN f.entity_type_description LIKE 'Sole Proprietorship%%' THEN 4
                ELSE 3 END AS p_type,
           CASE WHEN up.incorporation_year IS NULL THEN 0
                WHEN extract(year FROM now())::int - up.incorporation_year >= 10 THEN 10
                WHEN extract(year FROM now())::int - up.incorporation_year >= 5 THEN 7
                WHEN extract(year FROM now())::int - up.incorporation_year >= 2 THEN 4
                ELSE 2 END AS p_age,
           CASE WHEN f.no_of_officers >= 5 THEN 10 WHEN f.no_of_officers >= 3 THEN 7
                WHEN f.no_of_officers = 2 THEN 5 WHEN f.no_of_officers = 1 THEN 3
                ELSE 0 END AS p_officers,
           CASE WHEN f.address_complete THEN 10 WHEN f.address_partial THEN 5
                ELSE 0 END AS p_address
    FROM up
    JOIN facts f ON f.uen = up.uen
    LEFT JOIN icp ON icp.code = up.industry_code
), scored AS (
    SELECT parts.*, least(100, p_fit + p_live + p_type + p_age + p_officers + p_address) AS score
    FROM parts
), ins AS (
    INSERT INTO lead_scores AS ls (tenant_id, company_id, score, bucket, rationale, terms,
                                   job_id, computed_at)
    SELECT %(tenant_id)s, company_id, score,
           CASE WHEN score >= 70 THEN 'high' WHEN score >= 45 THEN 'medium' ELSE 'low' END,
           concat_ws('; ',
               format('fits %%s (SSIC %%s %%s)', coalesce(quote_literal(term), 'no ICP term'),
                      industry_code, coalesce(industry_norm, 'unknown industry')),
               coalesce(lower(status), 'status unknown'),
               coalesce(entity_type, 'entity type unknown'),
               CASE WHEN age IS NOT NULL
                    THEN format('est. %%s (%%s y)', incorporation_year, age) END,
               CASE WHEN officers IS NOT NULL THEN format('%%s officer%%s', officers,
                    CASE WHEN officers = 1 THEN '' ELSE 's' END) END,
               CASE WHEN address_complete THEN 'full address'
                    WHEN address_partial THEN 'partial address' ELSE 'no address' END),
           CASE WHEN term IS NULL THEN '{}'::text[] ELSE ARRAY[term] END,
           %(job_id)s::bigint, now()
    FROM scored
    ON CONFLICT (tenant_id, company_id) DO UPDATE SET
        score = EXCLUDED.score, bucket = EXCLUDED.bucket, rationale = EXCLUDED.rationale,
        terms = EXCLUDED.terms, job_id = EXCLUDED.job_id, computed_at = EXCLUDED.computed_at
    RETURNING ls.company_id, ls.score, ls.bucket, ls.rationale
)
SELECT ins.company_id, s.uen, s.name, s.industry_code, s.industry_norm, ins.score, ins.bucket,
       ins.rationale, s.status, s.is_live, s.incorporation_year, s.address
FROM ins JOIN scored s USING (company_id)
ORDER BY ins.score DESC, ins.company_id DESC

-- name: count_matching
-- Exact matching staging rows from the loader-maintained per-code counts.
SELECT coalesce(sum(n), 0)::bigint AS total, coalesce(sum(n_live), 0)::bigint AS live
FROM staging_ssic_counts WHERE code = ANY(%(codes)s::text[])

-- name: count_matching_by_term
-- count_matching per term: each subclass belongs to the one term that reached it, so the
-- terms' counts add up to the search's.
SELECT t.term, coalesce(sum(s.n), 0)::bigint AS total, coalesce(sum(s.n_live), 0)::bigint AS live
FROM unnest(%(codes)s::text[], %(terms)s::text[]) AS t(code, term)
LEFT JOIN staging_ssic_counts s ON s.code = t.code
GROUP BY t.term

-- name: sample_matching
-- A preview sample without writes: the head step's pick (live first, index order, early
-- stop), only read. The placeholder is replaced by the head_source block.
SELECT uen, entity_name AS name, primary_ssic_code AS industry_code, is_live
FROM (/*source*/) AS pick
