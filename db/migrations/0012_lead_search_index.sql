-- icp: no-transaction
-- 0012: keyset walks of the leads lists: one search's leads best first, and all of a
-- tenant's (with or without a bucket), in the unique order (score, company, search).
-- Built CONCURRENTLY so applying them does not block the runner's score writes.
CREATE INDEX CONCURRENTLY IF NOT EXISTS lead_scores_search_rank_idx
    ON lead_scores (tenant_id, search_id, score DESC, company_id DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS lead_scores_rank_idx
    ON lead_scores (tenant_id, score DESC, company_id DESC, search_id DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS lead_scores_bucket_rank_idx
    ON lead_scores (tenant_id, bucket, score DESC, company_id DESC, search_id DESC);
