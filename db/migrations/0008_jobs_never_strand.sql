-- 0008: jobs that never strand, run when users expect them, and say when.
--
-- released: a queued job any runner may claim as soon as run_after passes. False only for
--   work waiting for the scheduled fire (JOBS_START=nightly); a fire, "run now", a
--   continuation, a claim, a retry and a graceful release all set it, so interrupted work
--   is resumed by whichever runner is alive instead of waiting for the next fire.
-- attempts now counts failures (runs that ended in an error, or were abandoned without
--   committing a batch); runs counts claims. run_base / run_started_at are the processed
--   count and the time at the current run's claim: progress made in this run, and the
--   measured rate behind the job's ETA.
ALTER TABLE background_jobs
    ADD COLUMN released boolean NOT NULL DEFAULT false,
    ADD COLUMN runs integer NOT NULL DEFAULT 0,
    ADD COLUMN run_base bigint NOT NULL DEFAULT 0,
    ADD COLUMN run_started_at timestamptz;

-- Live work that already started (or continues a job that did) is released; attempts
-- counted claims before, so the runs so far are kept as runs.
UPDATE background_jobs
SET released = (started_at IS NOT NULL OR parent_job_id IS NOT NULL),
    runs = attempts,
    run_base = processed,
    run_started_at = CASE WHEN status = 'running' THEN updated_at END,
    attempts = CASE WHEN status = 'error' THEN 1 ELSE 0 END
WHERE attempts > 0 OR parent_job_id IS NOT NULL OR status = 'error';

-- The processes that run queued work, so "when will it run" is answered from what is
-- alive: a server's worker and scheduler (cron and time zone of its fires), or an
-- `icp jobs run`. Each row is refreshed every few seconds and deleted on a clean stop.
CREATE TABLE job_runners (
    runner_id text PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('server', 'cli')),
    claims text NOT NULL CHECK (claims IN ('all', 'released')),
    cron text,
    cron_tz text,
    started_at timestamptz NOT NULL DEFAULT now(),
    seen_at timestamptz NOT NULL DEFAULT now()
);
