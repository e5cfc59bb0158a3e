-- icp: no-transaction
-- Continuation jobs point at their parent; the index serves the FK's ON DELETE SET NULL
-- when old jobs are pruned and the "continued by" lookup of the job routes.
CREATE INDEX CONCURRENTLY IF NOT EXISTS background_jobs_parent_idx
    ON background_jobs (parent_job_id) WHERE parent_job_id IS NOT NULL;
