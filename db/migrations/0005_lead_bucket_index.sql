-- icp: no-transaction
-- /leads?bucket=low must not walk every high and medium lead of a tenant before its first
-- row: the bucket filter gets its own keyset index. Built CONCURRENTLY so applying it to a
-- scored deployment does not block the runner's score writes.
CREATE INDEX CONCURRENTLY IF NOT EXISTS lead_scores_bucket_rank_idx
    ON lead_scores (tenant_id, bucket, score DESC, company_id DESC);
