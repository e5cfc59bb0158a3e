-- name: lock_request
-- Serialize enqueues of one tenant's request (its base key): the live-job lookup and the
-- insert that follow see every committed twin, so a repeat never burns a job id.
SELECT pg_advisory_xact_lock(%(lock_space)s::int,
       hashtext(%(tenant_id)s::text || '/' || %(job_type)s::text || '/'
                || split_part(%(request_key)s::text, ':after:', 1)))

-- name: live_request_job
-- The tenant's queued or running job for the same request (a continuation included).
SELECT job_id, status, processed, total, parent_job_id
FROM background_jobs
WHERE tenant_id = %(tenant_id)s AND job_type = %(job_type)s
  AND request_base = split_part(%(request_key)s::text, ':after:', 1)
  AND status IN ('queued', 'running')

-- name: latest_request_job
-- The tenant's latest job of the same request: a new request resumes its range when it
-- ended unfinished (error or cancelled part-way), and reuses it when it finished after the
-- registry last changed (current: its scores are the registry's).
SELECT job_id, status, processed, total, cursor,
       status = 'done' AND ended_at > (SELECT changed_at FROM registry_changed) AS current
FROM background_jobs
WHERE tenant_id = %(tenant_id)s AND job_type = %(job_type)s
  AND request_base = split_part(%(request_key)s::text, ':after:', 1)
ORDER BY job_id DESC
LIMIT 1

-- name: insert_job
-- A new job (under lock_request, after live_request_job found none); runners are woken.
WITH ins AS (
    INSERT INTO background_jobs (tenant_id, job_type, params, request_key, total, max_attempts,
                                 parent_job_id, cursor, released)
    VALUES (%(tenant_id)s, %(job_type)s, %(params)s, %(request_key)s, %(total)s,
            %(max_attempts)s, %(parent_job_id)s, %(cursor)s, %(released)s)
    RETURNING job_id, status, processed, total
)
SELECT ins.*, pg_notify('icp_jobs', ins.job_id::text) FROM ins

-- name: notify_runners
-- Wake every runner's LISTEN (delivered at commit): work was queued, released or retried.
SELECT pg_notify('icp_jobs', %(reason)s::text)

-- name: claim_job
-- Claim the oldest runnable job in one statement: a queued job whose run_after has come
-- (only released ones unless this runner claims all), or a running job whose lease expired
-- (its runner died or hung) once its backoff has passed, resumed from its cursor. An
-- abandoned run counts as a failed attempt only if it committed no batch. SKIP LOCKED lets
-- concurrent runners pick different jobs.
WITH next AS (
    SELECT job_id, status AS prev_status, lease_owner AS prev_owner,
           (status = 'running' AND processed = run_base) AS failed_run
    FROM background_jobs
    WHERE (status = 'queued' AND run_after <= now() AND (released OR %(claim_all)s::bool))
       OR (status = 'running'
           AND lease_until + make_interval(secs => least(%(backoff_cap)s::float8,
                   %(backoff_base)s::float8 * 2 ^ greatest(attempts - 1, 0))) <= now()
           AND NOT (processed = run_base AND attempts + 1 >= max_attempts))
    ORDER BY job_id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
UPDATE background_jobs j
SET status = 'running',
    released = true,
    runs = j.runs + 1,
    attempts = j.attempts + next.failed_run::int,
    run_base = j.processed,
    run_started_at = now(),
    lease_owner = %(owner)s,
    lease_until = now() + make_interval(secs => %(lease_seconds)s::float8),
    started_at = coalesce(j.started_at, now()),
    error = CASE WHEN next.prev_status = 'running'
                 THEN format('run %%s: the lease of %%s expired (%%s); resumed', j.runs,
                             next.prev_owner,
                             CASE WHEN next.failed_run THEN 'no batch committed: a failed attempt'
                                  ELSE 'after progress: not counted as a failure' END)
                 ELSE j.error END,
    updated_at = now()
FROM next
WHERE j.job_id = next.job_id
RETURNING j.job_id, j.tenant_id, j.job_type, j.params, j.request_key, j.processed, j.total,
          j.cursor, j.attempts, j.max_attempts, j.runs, j.cancel_requested, next.prev_status

-- name: fail_exhausted_jobs
-- Running jobs abandoned without progress on their last attempt end in error, keeping the
-- reason (a run that committed batches is resumed instead: progress never turns into error).
UPDATE background_jobs
SET status = 'error', ended_at = now(), updated_at = now(), lease_until = NULL,
    attempts = attempts + 1,
    error = format('gave up after %%s of %%s attempts: the lease of %%s expired with no batch '
                   'committed (runner died?)%%s', attempts + 1, max_attempts, lease_owner,
                   coalesce('; earlier: ' || error, ''))
WHERE status = 'running' AND lease_until < now()
  AND processed = run_base AND attempts + 1 >= max_attempts
RETURNING job_id, tenant_id, processed, total, error

-- name: next_due
-- Seconds until a job becomes claimable by this runner (negative: now; NULL: none live).
SELECT extract(epoch FROM least(
    (SELECT min(run_after) FROM background_jobs
      WHERE status = 'queued' AND (released OR %(claim_all)s::bool)),
    (SELECT min(lease_until + make_interval(secs => least(%(backoff_cap)s::float8,
                %(backoff_base)s::float8 * 2 ^ greatest(attempts - 1, 0))))
       FROM background_jobs WHERE status = 'running')
) - now())::float8

-- name: heartbeat_job
-- Renew the lease while this runner owns the job. The status tells the heartbeat whether
-- the runner itself ended the job (no row: another runner took it over).
UPDATE background_jobs
SET lease_until = CASE WHEN status = 'running'
                       THEN now() + make_interval(secs => %(lease_seconds)s::float8)
                       ELSE lease_until END,
    updated_at = now()
WHERE job_id = %(job_id)s AND lease_owner = %(owner)s
RETURNING status, cancel_requested

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
-- End a job (done, error or cancelled) if this runner still owns it; an error is a failure.
UPDATE background_jobs
SET status = %(status)s, error = %(error)s, total = %(total)s, ended_at = now(),
    attempts = attempts + (%(status)s::text = 'error')::int,
    lease_until = NULL, updated_at = now()
WHERE job_id = %(job_id)s AND lease_owner = %(owner)s AND status = 'running'
RETURNING job_id, status, processed, total

-- name: retry_job
-- A transient failure: back to the queue (released, after a backoff), or error once the
-- failures reach max_attempts. It counts as a failure only when %(count)s (not an outage)
-- and the run committed no batch.
WITH j AS (
    SELECT job_id, attempts + (%(count)s::bool AND processed = run_base)::int AS failures
    FROM background_jobs
    WHERE job_id = %(job_id)s AND lease_owner = %(owner)s AND status = 'running'
    FOR UPDATE
)
UPDATE background_jobs b
SET attempts = j.failures,
    status = CASE WHEN j.failures >= b.max_attempts THEN 'error' ELSE 'queued' END,
    error = CASE WHEN j.failures >= b.max_attempts
                 THEN format('gave up after %%s failed attempts: %%s', j.failures,
                             %(error)s::text)
                 ELSE format('run %%s interrupted, retrying: %%s', b.runs, %(error)s::text) END,
    released = true,
    -- After an outage the database answered this very statement: no reason to wait.
    run_after = now() + CASE WHEN %(count)s::bool
                             THEN make_interval(secs => least(%(backoff_cap)s::float8,
                                  %(backoff_base)s::float8 * 2 ^ greatest(j.failures - 1, 0)))
                             ELSE interval '0' END,
    ended_at = CASE WHEN j.failures >= b.max_attempts THEN now() END,
    lease_until = NULL, updated_at = now()
FROM j
WHERE b.job_id = j.job_id
RETURNING b.job_id, b.status

-- name: release_job
-- Stop at a batch boundary (graceful shutdown) or after an outage: back to the queue,
-- released so any live runner resumes it now; no attempt counted.
UPDATE background_jobs
SET status = 'queued', released = true, run_after = now(),
    lease_until = NULL, updated_at = now()
WHERE job_id = %(job_id)s AND lease_owner = %(owner)s AND status = 'running'
RETURNING job_id

-- name: run_job_now
-- "Run now" (POST /jobs/{id}/run): a queued job of the tenant becomes claimable at once by
-- any live runner (a NULL tenant is the operator).
UPDATE background_jobs
SET released = true, run_after = least(run_after, now()), updated_at = now()
WHERE job_id = %(job_id)s AND status = 'queued'
  AND (%(tenant_id)s::text IS NULL OR tenant_id = %(tenant_id)s::text)
RETURNING job_id

-- name: release_queued
-- A scheduled fire: every queued job waiting for it becomes claimable by every runner.
UPDATE background_jobs SET released = true, updated_at = now()
WHERE status = 'queued' AND NOT released
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

-- name: job_row
-- A job as the routes, the CLI and the chat show it (included by get_job and list_jobs).
SELECT j.job_id, j.tenant_id, j.job_type, j.status, j.processed, j.total, j.error,
       j.created_at, j.started_at, j.ended_at, j.attempts, j.max_attempts, j.cancel_requested,
       j.parent_job_id, j.params, j.cursor, j.run_after, j.lease_owner, j.lease_until,
       j.released, j.runs, j.run_base, j.run_started_at, j.updated_at,
       (SELECT c.job_id FROM background_jobs c WHERE c.parent_job_id = j.job_id
         ORDER BY c.job_id LIMIT 1) AS next_job_id
FROM background_jobs j

-- name: get_job
/*= job_row */
WHERE j.job_id = %(job_id)s AND (%(tenant_id)s::text IS NULL OR j.tenant_id = %(tenant_id)s::text)

-- name: list_jobs
-- One keyset page, newest first: job_id < before; never OFFSET, never COUNT(*).
-- The page's ids one step at a time, each the next id below the previous one under the
-- filters (an ordered LIMIT 1 on background_jobs_tenant_idx, _status_idx,
-- _tenant_status_idx or the primary key), then each job by key: no statistics can make
-- it gather and sort a status's or a tenant's whole history instead (an unanalysed table
-- did). Run unprepared, so the NULL filters fold away.
WITH RECURSIVE ids (job_id) AS (
    (SELECT j.job_id FROM background_jobs j
     WHERE (%(tenant_id)s::text IS NULL OR j.tenant_id = %(tenant_id)s::text)
       AND (%(status)s::text IS NULL OR j.status = %(status)s::text)
       AND j.job_id < %(before)s
     ORDER BY j.job_id DESC
     LIMIT 1)
    UNION ALL
    SELECT (SELECT j.job_id FROM background_jobs j
            WHERE (%(tenant_id)s::text IS NULL OR j.tenant_id = %(tenant_id)s::text)
              AND (%(status)s::text IS NULL OR j.status = %(status)s::text)
              AND j.job_id < ids.job_id
            ORDER BY j.job_id DESC
            LIMIT 1)
    FROM ids
    WHERE ids.job_id IS NOT NULL
), page AS MATERIALIZED (
    SELECT job_id FROM ids WHERE job_id IS NOT NULL LIMIT %(limit)s
)
SELECT r.*
FROM page
-- LIMIT 1: a lookup by key per id, never joined as a set
CROSS JOIN LATERAL (
    /*= job_row */
    WHERE j.job_id = page.job_id
    LIMIT 1) r
ORDER BY r.job_id DESC

-- name: count_staging_after
-- The exact number of matching staging rows after a keyset position (the done check): the
-- runner's (match_code, uen) order, i.e. rows matched by their primary code plus rows
-- matched only by their secondary code (db/queries/companies.sql batch_source).
SELECT
  (SELECT count(*) FROM staging_acra_companies s
   -- Only the codes at or after the cursor's: before PostgreSQL 17 an = ANY index scan
   -- re-walks every earlier code's entries (measured on PG15: 119 ms -> 0.8 ms mid-walk).
   WHERE s.primary_ssic_code = ANY(ARRAY(
           SELECT c FROM unnest(%(codes)s::text[]) AS c WHERE c >= %(after_code)s::text))
     AND (s.primary_ssic_code, s.uen) > (%(after_code)s::text, %(after_uen)s::text))
  + (SELECT count(*) FROM staging_acra_companies s
     WHERE s.secondary_ssic_code = ANY(ARRAY(
             SELECT c FROM unnest(%(codes)s::text[]) AS c WHERE c >= %(after_code)s::text))
       AND NOT coalesce(s.primary_ssic_code = ANY(%(codes)s::text[]), false)
       AND (s.secondary_ssic_code, s.uen) > (%(after_code)s::text, %(after_uen)s::text))

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

-- name: queue_waiting
-- Live jobs no runner can take right now (future run_after, or a lease still held).
SELECT count(*) FILTER (WHERE status = 'queued') AS queued,
       count(*) FILTER (WHERE status = 'running') AS running
FROM background_jobs WHERE status IN ('queued', 'running')

-- name: register_runner
-- A runner is alive: insert or refresh its row (servers every few seconds).
INSERT INTO job_runners (runner_id, kind, claims, cron, cron_tz)
VALUES (%(runner_id)s, %(kind)s, %(claims)s, %(cron)s, %(cron_tz)s)
ON CONFLICT (runner_id) DO UPDATE
SET claims = EXCLUDED.claims, cron = EXCLUDED.cron, cron_tz = EXCLUDED.cron_tz, seen_at = now()

-- name: unregister_runner
DELETE FROM job_runners WHERE runner_id = %(runner_id)s

-- name: prune_runners
-- Rows of runners that died without a clean stop.
DELETE FROM job_runners WHERE seen_at < now() - interval '1 day'

-- name: live_runners
-- The database's clock and the runners seen recently: what claims work, and which
-- schedules fire (cron, time zone) in a live server.
-- One row at least: the clock with no runner (kind NULL) when none is alive.
SELECT c.now, r.runner_id, r.kind, r.claims, r.cron, r.cron_tz
FROM (SELECT now() AS now) c
LEFT JOIN job_runners r ON r.seen_at > c.now - make_interval(secs => %(live_seconds)s::float8)

-- name: recent_rate
-- Rows per second measured over the latest runs that processed rows (ETA of a job whose
-- current run has not committed a batch yet).
SELECT sum(rows)::float8 / nullif(sum(duration_ms), 0) * 1000
FROM (SELECT rows, duration_ms FROM run_stage_stats
      WHERE rows > 0 AND duration_ms > 0 ORDER BY stat_id DESC LIMIT 20) r

-- name: jobs_ahead
-- Per queued job: the claimable jobs a runner takes before it (oldest first), and the jobs
-- running now (each keeps one runner busy).
SELECT q.job_id,
       (SELECT count(*) FROM background_jobs a
         WHERE a.status = 'queued' AND a.job_id < q.job_id AND a.run_after <= now()
           AND (a.released OR %(claim_all)s::bool)) AS ahead,
       (SELECT count(*) FROM background_jobs r
         WHERE r.status = 'running' AND r.lease_until > now()) AS busy
FROM unnest(%(job_ids)s::bigint[]) AS q(job_id)

-- name: listen_runners
-- Runners wait on this channel (the one pg_notify above sends to).
LISTEN icp_jobs
