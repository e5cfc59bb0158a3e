-- icp: no-transaction
-- 0024: /leads?industry_code= reads a broad prefix in score order first (issue 15). Its
-- walk per code read up to a page of keys from every code of the prefix (about 5,000 for
-- "46" once each code holds a page: 2.7 ms at 25k rows, 6.0 ms at 3M); the tenant's best
-- keys in score order hold a broad prefix's page within their first few hundred, whatever
-- the size (db/queries/leads.sql leads_industry_page). For that walk to test the prefix,
-- the bucket and the status without the heap, the two score-ordered indexes now carry
-- industry_code, bucket and is_live. Built CONCURRENTLY beside the old ones, then swapped
-- in under the old names (as 0017).
CREATE INDEX CONCURRENTLY IF NOT EXISTS lead_scores_rank_incl_idx
    ON lead_scores (tenant_id, score DESC, company_id DESC, search_id DESC)
    INCLUDE (industry_code, bucket, is_live);
DROP INDEX CONCURRENTLY IF EXISTS lead_scores_rank_idx;
ALTER INDEX IF EXISTS lead_scores_rank_incl_idx RENAME TO lead_scores_rank_idx;
CREATE INDEX CONCURRENTLY IF NOT EXISTS lead_scores_bucket_rank_incl_idx
    ON lead_scores (tenant_id, bucket, score DESC, company_id DESC, search_id DESC)
    INCLUDE (industry_code, is_live);
DROP INDEX CONCURRENTLY IF EXISTS lead_scores_bucket_rank_idx;
ALTER INDEX IF EXISTS lead_scores_bucket_rank_incl_idx RENAME TO lead_scores_bucket_rank_idx;
