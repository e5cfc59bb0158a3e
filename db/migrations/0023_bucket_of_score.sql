-- icp: no-transaction
-- 0023: a lead's bucket is a range of its score (issue 15). /leads?bucket=&industry_code=
-- walks lead_scores_industry_rank_idx per code best first (leads.sql leads_industry_page);
-- with bucket=medium each walk began at the code's top score and stepped over the code's
-- high-scored entries (more of them the bigger the registry: 8.5 ms at 25k rows, 21.9 ms
-- at 3M), and without a floor it read on through the code's low ones. Buckets were always
-- the score's range (upsert_scored): icp_lead_bucket states it once, the constraint
-- holds every score to it, and a page bounds each code's walk by its bucket's score range
-- (icp_bucket_min .. icp_bucket_max, leads_bucket_range_filter): an index range.
-- The three functions change together with the constraint (drop, change, add again);
-- the range of no bucket (NULL) is NULL.
CREATE OR REPLACE FUNCTION icp_lead_bucket(score integer) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN score >= 85 THEN 'high' WHEN score >= 65 THEN 'medium' ELSE 'low' END;
CREATE OR REPLACE FUNCTION icp_bucket_min(bucket text) RETURNS smallint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE bucket WHEN 'high' THEN 85 WHEN 'medium' THEN 65 WHEN 'low' THEN 0 END;
CREATE OR REPLACE FUNCTION icp_bucket_max(bucket text) RETURNS smallint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE bucket WHEN 'high' THEN 100 WHEN 'medium' THEN 84 WHEN 'low' THEN 64 END;
-- Added NOT VALID (a moment's lock), then validated in its own statement: the scan of the
-- existing scores takes SHARE UPDATE EXCLUSIVE, so pages and score writes go on meanwhile.
ALTER TABLE lead_scores DROP CONSTRAINT IF EXISTS lead_scores_bucket_of_score;
ALTER TABLE lead_scores ADD CONSTRAINT lead_scores_bucket_of_score
    CHECK (bucket = icp_lead_bucket(score)) NOT VALID;
ALTER TABLE lead_scores VALIDATE CONSTRAINT lead_scores_bucket_of_score;
