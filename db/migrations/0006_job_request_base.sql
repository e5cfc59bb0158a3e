-- 0006: one live job per tenant and request, continuation jobs included.
-- A capped job hands its rest to a continuation keyed '<key>:after:<id>'; the request's
-- base key is what identifies "the same request", so a repeat while only the
-- continuation is queued or running gets that continuation back instead of a new job
-- that would redo the whole range.
ALTER TABLE background_jobs
    ADD COLUMN request_base text GENERATED ALWAYS AS (split_part(request_key, ':after:', 1)) STORED;
DROP INDEX background_jobs_active_request_key;
CREATE UNIQUE INDEX background_jobs_active_request_base
    ON background_jobs (tenant_id, job_type, request_base)
    WHERE status IN ('queued', 'running');
