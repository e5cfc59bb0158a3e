-- 0010: a lead score that means something, kept per saved search (README "Lead score").
--
-- The registry-only part of the score (the "prior": recent filing, age, officers, entity
-- type, address) depends on the staging row alone, relative to the date the row was
-- loaded (the registry snapshot it came with). It is a stored generated column, so every
-- load path (COPY + swap, merge, the benchmark generator) fills it, and an index per SSIC
-- code on it (0011) lets the chat take the true top companies of a search at once.
-- A score is fit(code, search) + prior; the fit part is added per search.

CREATE FUNCTION icp_months_between(earlier date, later date) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (extract(year FROM later)::int * 12 + extract(month FROM later)::int)
         - (extract(year FROM earlier)::int * 12 + extract(month FROM earlier)::int);

-- Recent filing: 20 points for an annual return filed this month, one point less per two
-- months since (0 from 40 months on, and without an annual return).
CREATE FUNCTION icp_points_filing(annual_return date, snapshot date) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN annual_return IS NULL THEN 0
                ELSE greatest(0, 20 - greatest(icp_months_between(annual_return, snapshot), 0) / 2)
           END;

-- Age: one point per full year since registration, at most 10.
CREATE FUNCTION icp_points_age(registered date, snapshot date) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN registered IS NULL THEN 0
                ELSE least(greatest(icp_months_between(registered, snapshot) / 12, 0), 10)
           END;

-- Officers (a size proxy): one point per officer, at most 12.
CREATE FUNCTION icp_points_officers(officers integer) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN least(greatest(coalesce(officers, 0), 0), 12);

CREATE FUNCTION icp_points_entity_type(entity_type text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN entity_type = 'Local Company' THEN 8
                WHEN entity_type = 'Foreign Company Branch' THEN 6
                WHEN entity_type = 'Limited Liability Partnership' THEN 5
                WHEN entity_type = 'Limited Partnership' THEN 4
                WHEN entity_type IS NULL THEN 0
                ELSE 2 END;

-- A complete address (6-digit postal code and a street) 5, a partial one 2.
CREATE FUNCTION icp_points_address(postal_code text, street_name text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN postal_code ~ '^[0-9]{6}$' AND street_name IS NOT NULL THEN 5
                WHEN postal_code IS NOT NULL OR street_name IS NOT NULL THEN 2
                ELSE 0 END;

-- Industry fit of a company whose primary SSIC code is one of the search's codes:
-- 35 plus 10 x how strongly the search's term matched that code (0..1).
CREATE FUNCTION icp_points_fit(weight real) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN 35 + round(10 * greatest(least(weight, 1), 0)::numeric)::int;

-- Industry fit of a company matched only by its secondary SSIC code (its primary code is
-- not one of the search's): 20 plus 10 x the match strength of that code.
CREATE FUNCTION icp_points_fit_secondary(weight real) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN 20 + round(10 * greatest(least(weight, 1), 0)::numeric)::int;

-- The snapshot date a staging row's points are relative to: the day (UTC) it was loaded.
CREATE FUNCTION icp_snapshot(loaded_at timestamptz) RETURNS date
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (loaded_at AT TIME ZONE 'UTC')::date;

ALTER TABLE staging_acra_companies ADD COLUMN registry_prior smallint
    GENERATED ALWAYS AS (
        icp_points_filing(annual_return_date, icp_snapshot(loaded_at))
        + icp_points_age(registration_incorporation_date, icp_snapshot(loaded_at))
        + icp_points_officers(no_of_officers)
        + icp_points_entity_type(entity_type_description)
        + icp_points_address(postal_code, street_name)
    ) STORED;

-- A saved search: one per tenant and resolved SSIC code set (codes sorted; codes_key is
-- their md5, so a section-wide set fits a unique index).
CREATE TABLE icp_searches (
    search_id bigserial PRIMARY KEY,
    tenant_id text NOT NULL,
    terms text[] NOT NULL DEFAULT '{}',
    codes text[] NOT NULL,
    codes_key text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    used_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT icp_searches_tenant_codes_key UNIQUE (tenant_id, codes_key)
);
CREATE INDEX icp_searches_tenant_idx ON icp_searches (tenant_id, search_id DESC);

-- Scores are kept per (tenant, search, company). Scores of the old scale (one row per
-- tenant and company, overwritten by every search) cannot be attributed to a search:
-- they are dropped; repeating a search scores its companies again.
DELETE FROM lead_scores;
DROP INDEX IF EXISTS lead_scores_rank_idx;
DROP INDEX IF EXISTS lead_scores_bucket_rank_idx;
ALTER TABLE lead_scores DROP CONSTRAINT lead_scores_pkey;
ALTER TABLE lead_scores
    ADD COLUMN search_id bigint NOT NULL REFERENCES icp_searches (search_id) ON DELETE CASCADE,
    ADD COLUMN is_live boolean NOT NULL DEFAULT false,
    ADD PRIMARY KEY (tenant_id, search_id, company_id);
-- /companies and the tenant checks: a tenant's companies whatever the search.
CREATE INDEX lead_scores_tenant_company_idx ON lead_scores (tenant_id, company_id);

-- Rows with a secondary SSIC code, counted per (secondary, primary) code pair and
-- maintained by the loader like staging_ssic_counts: the rows a search matches only by
-- their secondary code are the pairs whose secondary code is in the search and whose
-- primary code is not, so the chat counts them by summing a few small rows.
CREATE TABLE staging_ssic_pair_counts (
    secondary_code text NOT NULL,
    primary_code text NOT NULL,  -- '' when the row has no primary code
    n bigint NOT NULL CHECK (n >= 0),
    n_live bigint NOT NULL CHECK (n_live >= 0),
    PRIMARY KEY (secondary_code, primary_code)
);
INSERT INTO staging_ssic_pair_counts (secondary_code, primary_code, n, n_live)
SELECT secondary_ssic_code, coalesce(primary_ssic_code, ''), count(*),
       count(*) FILTER (WHERE is_live)
FROM staging_acra_companies WHERE secondary_ssic_code IS NOT NULL GROUP BY 1, 2;
