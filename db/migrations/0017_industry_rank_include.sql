-- icp: no-transaction
-- 0017: /leads?industry_code= with a bucket or the live filter (issue 15) read each
-- candidate's heap row to test them: lead_scores_industry_rank_idx held the order but not
-- the filters (p95 266 ms at 1M rows, 48 ms before the per-code walk). The index now
-- carries bucket and is_live, so each code's walk is index-only; a page reads the heap
-- for its own rows only (db/queries/leads.sql leads_industry_page). Built CONCURRENTLY
-- beside the old one, then swapped in under the old name.
CREATE INDEX CONCURRENTLY IF NOT EXISTS lead_scores_industry_rank_incl_idx
    ON lead_scores (tenant_id, industry_code, score DESC, company_id DESC, search_id DESC)
    INCLUDE (bucket, is_live);
DROP INDEX CONCURRENTLY IF EXISTS lead_scores_industry_rank_idx;
ALTER INDEX IF EXISTS lead_scores_industry_rank_incl_idx RENAME TO lead_scores_industry_rank_idx;
