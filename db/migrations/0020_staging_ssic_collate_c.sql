-- 0020: staging's SSIC codes compare byte by byte (COLLATE "C"), like its UENs (0016).
-- A code is five ASCII digits (CHECKed), which every collation orders alike, so no order,
-- join or count changes; but a C comparison is a memcmp and sorts use abbreviated keys,
-- so the four indexes that lead with a code, and the per-code counts' GROUP BY, cost
-- less in a load into an empty staging (bench.acra_load, BENCHMARKS.md). Comparing a
-- staging code with a code of the default collation (ssic_ref.code, staging_ssic_counts,
-- lead_scores.industry_code, parameters) takes the C collation, so staging's indexes
-- serve such comparisons; tests/integration/test_query_plans.py proves every route and
-- runner query keeps its index plans. The indexes on the codes are rebuilt here (the
-- table is not rewritten).
ALTER TABLE staging_acra_companies
    ALTER COLUMN primary_ssic_code TYPE text COLLATE "C",
    ALTER COLUMN secondary_ssic_code TYPE text COLLATE "C";
