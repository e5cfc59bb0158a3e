-- 0022: staging_acra_companies.is_live reads the status's first four characters
-- instead of lower-casing the whole status (and the pattern) for ILIKE 'live%' on every
-- row a load writes: at 1M rows a SELECT of the expression costs 0.30 CPU-s instead of
-- 0.60 (bench.acra_load, BENCHMARKS.md). The truth table is the same over every status
-- ACRA publishes (the real sample in /work/shared/data: 'Live Company' and 'Live' are
-- the live ones, the other 23 statuses start with none of these prefixes) and every
-- status bench.gen writes; an upper- or lower-case 'LIVE'/'live' still counts as live.
-- A generated column's expression cannot be altered before PostgreSQL 17, so the column
-- is dropped and added again (the table is rewritten) and the four indexes that read it
-- (0011; dropped with the column) are built again as they were.
ALTER TABLE staging_acra_companies
    DROP COLUMN is_live,
    ADD COLUMN is_live boolean
        GENERATED ALWAYS AS (left(entity_status_description, 4) IN ('Live', 'LIVE', 'live')) STORED;

CREATE INDEX staging_live_prior_idx
    ON staging_acra_companies (registry_prior DESC, uen)
    INCLUDE (primary_ssic_code, secondary_ssic_code) WHERE is_live;
CREATE INDEX staging_live_ssic_prior_idx
    ON staging_acra_companies (primary_ssic_code, registry_prior DESC, uen) WHERE is_live;
CREATE INDEX staging_live_secondary_prior_idx
    ON staging_acra_companies (secondary_ssic_code, registry_prior DESC, uen)
    INCLUDE (primary_ssic_code) WHERE is_live AND secondary_ssic_code IS NOT NULL;
CREATE INDEX staging_secondary_uen_idx
    ON staging_acra_companies (secondary_ssic_code, uen)
    INCLUDE (primary_ssic_code, is_live) WHERE secondary_ssic_code IS NOT NULL;
