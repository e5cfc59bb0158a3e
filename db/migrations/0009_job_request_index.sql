-- icp: no-transaction
-- 0009: a new request resumes the unfinished range of the latest job of the same request
-- (same tenant and code set); this finds that job without walking the tenant's history.
CREATE INDEX CONCURRENTLY IF NOT EXISTS background_jobs_request_idx
    ON background_jobs (tenant_id, job_type, request_base, job_id DESC);
