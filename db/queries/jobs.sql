-- name: enqueue_job
-- Idempotent enqueue: the partial unique index on (tenant_id, job_type, request_base)
-- over queued/running jobs decides; a concurrent twin, or a live continuation of the same
-- request, is returned instead of a new job.
WITH ins AS (
    INSERT INTO background_jobs (tenant_id, job_type, params, request_key, total, max_attempts,
                                 parent_job_id, cursor)
    VALUES (%(tenant_id)s, %(job_type)s, %(params)s, %(request_key)s, %(total)s,
            %(max_attempts)s, %(parent_job_id)s, %(cursor)s)
    ON CONFLICT (tenant_id, job_type, request_base) WHERE status IN ('queued', 'running')
    DO NOTHING
    RETURNING job_id, status, processed, total, true AS created
)
SELECT * FROM ins
UNION ALL
SELECT job_id, status, processed, total, false AS created
FROM background_jobs
WHERE tenant_id = %(tenant_id)s AND job_type = %(job_type)s
  AND request_base = split_part(%(request_key)s::text, ':after:', 1)
  AND status IN ('queued', 'running') AND NOT EXISTS (SELECT 1 FROM ins)
LIMIT 1

-- name: claim_job
-- Claim the oldest runnable job in one statement: a queued job whose run_after has come,
-- or a running job whose lease expired (its runner died) once its backoff has passed, which
-- is resumed from its cursor. SKIP LOCKED lets concurrent runners pick different jobs.
WITH next AS (
    SELECT job_id, status AS prev_status, lease_owner AS prev_owner
    FROM background_jobs
    WHERE (status = 'queued' AND run_after <= now())
       OR (status = 'running' AND attempts < max_attempts
           AND lease_until + make_interval(secs => least(%(backoff_cap)s::float8,
                   %(backoff_base)s::float8 * 2 ^ greatest(attempts - 1, 0))) <= now())
    ORDER BY job_id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
UPDATE background_jobs j
SET status = 'running',
    attempts = j.attempts + 1,
    lease_owner = %(owner)s,
    lease_until = now() + make_interval(secs => %(lease_seconds)s::float8),
    started_at = coalesce(j.started_at, now()),
    error = CASE WHEN next.prev_status = 'running'
                 THEN format('attempt %%s: the lease of %%s expired (runner died?); resumed',
                             j.attempts, next.prev_owner)
                 ELSE j.error END,
    updated_at = now()
FROM next
WHERE j.job_id = next.job_id
RETURNING j.job_id, j.tenant_id, j.job_type, j.params, j.request_key, j.processed, j.total,
          j.cursor, j.attempts, j.max_attempts, j.cancel_requested, next.prev_status

-- name: fail_exhausted_jobs
-- Running jobs whose lease expired on their last attempt end in error, keeping the reason.
UPDATE background_jobs
SET status = 'error', ended_at = now(), updated_at = now(), lease_until = NULL,
    error = format('gave up after %%s of %%s attempts: the lease of %%s expired (runner died?)%%s',
                   attempts, max_attempts, lease_owner, coalesce('; earlier: ' || error, ''))
WHERE status = 'running' AND lease_until < now() AND attempts >= max_attempts
RETURNING job_id, tenant_id

-- name: heartbeat_job
-- Renew the lease while the runner still owns the job.
UPDATE background_jobs
SET lease_until = now() + make_interval(secs => %(lease_seconds)s::float8), updated_at = now()
WHERE job_id = %(job_id)s AND lease_owner = %(owner)s AND status = 'running'
RETURNING cancel_requested

-- name: start_job
-- Refresh total at the start of a run (never below what is already processed).
UPDATE background_jobs
SET total = greatest(%(total)s::bigint, processed), cursor = %(cursor)s,
    lease_until = now() + make_interval(secs => %(lease_seconds)s::float8), updated_at = now()
WHERE job_id = %(job_id)s AND lease_owner = %(owner)s AND status = 'running'
RETURNING processed, total, cancel_requested

-- name: record_batch
-- Progress of one batch, committed in the batch's own transaction (with its upserts).
UPDATE background_jobs
SET processed = processed + %(rows)s,
    total = greatest(total, processed + %(rows)s),
    cursor = %(cursor)s,
    lease_until = now() + make_interval(secs => %(lease_seconds)s::float8),
    updated_at = now()
WHERE job_id = %(job_id)s AND lease_owner = %(owner)s AND status = 'running'
RETURNING processed, total, cancel_requested

-- name: finish_job
-- End a job (done, error or cancelled) if this runner still owns it.
UPDATE background_jobs
SET status = %(status)s, error = %(error)s, total = %(total)s, ended_at = now(),
    lease_until = NULL, updated_at = now()
WHERE job_id = %(job_id)s AND lease_owner = %(owner)s AND status = 'running'
RETURNING job_id, status, processed, total

-- name: retry_job
-- A transient failure: back to the queue with a backoff, or error after the last attempt.
UPDATE background_jobs
SET status = CASE WHEN attempts >= max_attempts THEN 'error' ELSE 'queued' END,
    error = CASE WHEN attempts >= max_attempts
                 THEN format('gave up after %%s attempts: %%s', attempts, %(error)s::text)
                 ELSE format('attempt %%s failed, retrying: %%s', attempts, %(error)s::text) END,
    run_after = now() + make_interval(secs => least(%(backoff_cap)s::float8,
                    %(backoff_base)s::float8 * 2 ^ greatest(attempts - 1, 0))),
    ended_at = CASE WHEN attempts >= max_attempts THEN now() END,
    lease_until = NULL, updated_at = now()
WHERE job_id = %(job_id)s AND lease_owner = %(owner)s AND status = 'running'
RETURNING job_id, status

-- name: release_job
-- Graceful stop at a batch boundary: the job goes back to the queue, the attempt not counted.
UPDATE background_jobs
SET status = 'queued', attempts = greatest(attempts - 1, 0), run_after = now(),
    lease_until = NULL, updated_at = now()
WHERE job_id = %(job_id)s AND lease_owner = %(owner)s AND status = 'running'
RETURNING job_id

-- name: cancel_job
-- Cancel a queued job (or a running one whose runner died) at once; ask a live runner to
-- stop at its next batch boundary. A NULL tenant is the operator (CLI).
UPDATE background_jobs
SET status = CASE WHEN status = 'queued' OR lease_until < now() THEN 'cancelled'
                  ELSE status END,
    ended_at = CASE WHEN status = 'queued' OR lease_until < now() THEN now() END,
    cancel_requested = true,
    updated_at = now()
WHERE job_id = %(job_id)s AND status IN ('queued', 'running')
  AND (%(tenant_id)s::text IS NULL OR tenant_id = %(tenant_id)s::text)
RETURNING job_id

-- name: get_job
SELECT j.job_id, j.tenant_id, j.job_type, j.status, j.processed, j.total, j.error,
       j.created_at, j.started_at, j.ended_at, j.attempts, j.max_attempts, j.cancel_requested,
       j.parent_job_id, j.params, j.cursor, j.run_after, j.lease_owner, j.lease_until,
       (SELECT c.job_id FROM background_jobs c WHERE c.parent_job_id = j.job_id
         ORDER BY c.job_id LIMIT 1) AS next_job_id
FROM background_jobs j
WHERE j.job_id = %(job_id)s AND (%(tenant_id)s::text IS NULL OR j.tenant_id = %(tenant_id)s::text)

-- name: list_jobs
-- One keyset page, newest first: job_id < before; never OFFSET, never COUNT(*).
SELECT j.job_id, j.tenant_id, j.job_type, j.status, j.processed, j.total, j.error,
       j.created_at, j.started_at, j.ended_at, j.attempts, j.max_attempts, j.cancel_requested,
       j.parent_job_id, j.params, j.cursor, j.run_after, j.lease_owner, j.lease_until,
       (SELECT c.job_id FROM background_jobs c WHERE c.parent_job_id = j.job_id
         ORDER BY c.job_id LIMIT 1) AS next_job_id
FROM background_jobs j
WHERE (%(tenant_id)s::text IS NULL OR j.tenant_id = %(tenant_id)s::text)
  AND (%(status)s::text IS NULL OR j.status = %(status)s::text)
  AND j.job_id < %(before)s
ORDER BY j.job_id DESC
LIMIT %(limit)s

-- name: count_staging_after
-- The exact number of matching staging rows after a keyset position (the done check).
SELECT count(*) FROM staging_acra_companies s
-- Only the codes at or after the cursor's: before PostgreSQL 17 an = ANY index scan
-- re-walks every earlier code's entries (measured on PG15: 119 ms -> 0.8 ms mid-walk).
WHERE s.primary_ssic_code = ANY(ARRAY(
        SELECT c FROM unnest(%(codes)s::text[]) AS c WHERE c >= %(after_code)s::text))
  AND (s.primary_ssic_code, s.uen) > (%(after_code)s::text, %(after_uen)s::text)

-- name: insert_stage_stats
INSERT INTO run_stage_stats (job_id, tenant_id, stage, rows, batches, p50_ms, p95_ms, errors,
                             duration_ms, started_at, ended_at)
VALUES (%(job_id)s, %(tenant_id)s, %(stage)s, %(rows)s, %(batches)s, %(p50_ms)s, %(p95_ms)s,
        %(errors)s, %(duration_ms)s, %(started_at)s, now())

-- name: prune_jobs
-- Delete one chunk of finished jobs older than the retention (their stats cascade).
WITH doomed AS (
    SELECT job_id FROM background_jobs
    WHERE status IN ('done', 'error', 'cancelled')
      AND ended_at < now() - make_interval(days => %(days)s::int)
    ORDER BY ended_at
    LIMIT %(limit)s
)
DELETE FROM background_jobs j USING doomed WHERE j.job_id = doomed.job_id

-- name: prune_fires
-- Old fires go, but each schedule keeps its latest (the start-up catch-up reads it).
DELETE FROM scheduler_fires f
WHERE f.fire_time < now() - make_interval(days => %(days)s::int)
  AND f.fire_time < (SELECT max(l.fire_time) FROM scheduler_fires l WHERE l.job_name = f.job_name)

-- name: record_fire
-- The first replica to record a fire runs the queue for it; the others get no row back.
INSERT INTO scheduler_fires (job_name, fire_time, fired_by)
VALUES (%(job_name)s, %(fire_time)s, %(fired_by)s)
ON CONFLICT (job_name, fire_time) DO NOTHING
RETURNING fired_by

-- name: fire_recorded
SELECT fired_by FROM scheduler_fires WHERE job_name = %(job_name)s AND fire_time = %(fire_time)s

-- name: overdue_jobs
-- Work a past fire should have drained: queued before it, or running with a dead runner.
SELECT EXISTS (
    SELECT 1 FROM background_jobs
    WHERE (status = 'queued' AND created_at <= %(before)s AND run_after <= now())
       OR (status = 'running' AND lease_until < now())
)

-- name: queue_waiting
-- Live jobs no runner can take right now (future run_after, or a lease still held).
SELECT count(*) FILTER (WHERE status = 'queued') AS queued,
       count(*) FILTER (WHERE status = 'running') AS running
FROM background_jobs WHERE status IN ('queued', 'running')
