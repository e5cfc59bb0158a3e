"""The batched runner on the real sample registry: exact counts, progress, errors, cap."""

from __future__ import annotations

import re

import psycopg
import pytest

from jobs import queue
from jobs.runner import drain
from tests.integration.jobs_support import (
    MANUFACTURING_ROWS,
    company_uens,
    enqueue,
    fill_disk_at,
    icp,
    job,
    manufacturing_codes,
    matching_uens,
)


async def test_icp_jobs_run_finishes_manufacturing_with_exact_counts(sample_db: str) -> None:
    codes = manufacturing_codes(sample_db)
    job_id = await enqueue(sample_db, codes)
    assert job(sample_db, job_id)["total"] == MANUFACTURING_ROWS

    res = icp(sample_db, "jobs", "run", STAGING_BATCH_SIZE="200")
    assert res.returncode == 0, res.stderr

    row = job(sample_db, job_id)
    assert (row["status"], row["processed"], row["total"]) == ("done", 1659, 1659)
    assert row["error"] is None and row["ended_at"] is not None
    uens = company_uens(sample_db)
    assert len(uens) == len(set(uens)) == MANUFACTURING_ROWS
    assert set(uens) == matching_uens(sample_db, codes)
    # Progress was printed batch by batch: 200, 400, ... 1,659.
    seen = [
        int(m.replace(",", ""))
        for m in re.findall(rf"job {job_id}: ([\d,]+)/1,659 rows", res.stdout)
    ]
    assert seen == [*range(200, 1659, 200), 1659]
    assert f"job {job_id}: done 1,659/1,659" in res.stdout
    # One JSON log line per event on stderr, with the stage and the job.
    assert '"event": "batch_end"' in res.stderr and '"stage": "staging_upsert"' in res.stderr
    with psycopg.connect(sample_db) as conn:
        stats = conn.execute(
            "SELECT stage, rows, batches, errors, p50_ms > 0, p95_ms >= p50_ms, duration_ms > 0"
            " FROM run_stage_stats WHERE job_id = %s",
            (job_id,),
        ).fetchall()
        scores = conn.execute(
            "SELECT count(*) FROM lead_scores WHERE tenant_id = 'default' AND job_id = %s",
            (job_id,),
        ).fetchone()
    assert stats == [("staging_upsert", 1659, 9, 0, True, True, True)]
    assert scores == (1659,)


async def test_progress_is_visible_from_another_connection(
    app_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from config.settings import reset_settings

    monkeypatch.setenv("STAGING_BATCH_SIZE", "150")
    reset_settings()
    job_id = await enqueue(app_db, manufacturing_codes(app_db))
    seen: list[tuple[int, int]] = []

    async def poll(jid: int, processed: int, total: int) -> None:
        # Another connection sees each batch's committed progress while the job runs.
        async with await psycopg.AsyncConnection.connect(app_db) as other:
            cur = await other.execute(
                "SELECT processed, total, status FROM background_jobs WHERE job_id = %s", (jid,)
            )
            row = await cur.fetchone()
        assert row is not None and row[2] == "running"
        seen.append((int(row[0]), int(row[1])))

    reports = await drain(on_progress=poll)
    assert [r.status for r in reports] == ["done"]
    assert [p for p, _ in seen] == [*range(150, 1659, 150), 1659]
    assert all(t == MANUFACTURING_ROWS for _, t in seen)
    assert job(app_db, job_id)["status"] == "done"


async def test_sql_failure_ends_error_with_the_message(
    app_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from config.settings import reset_settings

    monkeypatch.setenv("STAGING_BATCH_SIZE", "200")
    reset_settings()
    codes = manufacturing_codes(app_db)
    job_id = await enqueue(app_db, codes)
    fill_disk_at(app_db, 600)  # a real server-side failure mid-walk
    reports = await drain()
    assert [r.status for r in reports] == ["error"]
    row = job(app_db, job_id)
    assert row["status"] == "error"
    assert "DiskFull" in row["error"] and "No space left on device" in row["error"]
    assert row["attempts"] == 1  # a data/disk error is not retried
    assert row["processed"] == 600 and row["ended_at"] is not None
    assert len(company_uens(app_db)) == 600  # the failed batch rolled back entirely
    with psycopg.connect(app_db) as conn:
        assert conn.execute(
            "SELECT errors, rows FROM run_stage_stats WHERE job_id = %s", (job_id,)
        ).fetchall() == [(1, 600)]


async def test_rows_deleted_behind_the_cursor_end_error_not_done(
    app_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from config.settings import reset_settings

    monkeypatch.setenv("STAGING_BATCH_SIZE", "300")
    reset_settings()
    codes = manufacturing_codes(app_db)
    job_id = await enqueue(app_db, codes)
    deleted: list[str] = []

    async def lose_a_row(jid: int, processed: int, total: int) -> None:
        if not deleted:
            async with await psycopg.AsyncConnection.connect(app_db, autocommit=True) as c:
                cur = await c.execute(
                    "DELETE FROM staging_acra_companies WHERE uen = ("
                    " SELECT uen FROM companies ORDER BY industry_code, uen LIMIT 1) RETURNING uen"
                )
                row = await cur.fetchone()
                assert row is not None
                deleted.append(row[0])

    reports = await drain(on_progress=lose_a_row)
    assert [r.status for r in reports] == ["error"]
    row = job(app_db, job_id)
    assert row["status"] == "error" and row["processed"] == 1659
    assert "1,659 rows but 1,658 staging rows match" in row["error"]


async def test_transient_failure_is_retried_and_finishes(
    app_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from config.settings import reset_settings

    monkeypatch.setenv("STAGING_BATCH_SIZE", "400")
    monkeypatch.setattr(queue, "BACKOFF_BASE_SECONDS", 0.0)
    reset_settings()
    codes = manufacturing_codes(app_db)
    job_id = await enqueue(app_db, codes)
    with psycopg.connect(app_db, autocommit=True) as conn:
        # The second batch hits a serialization failure once (a sequence is not rolled back).
        conn.execute("""
            CREATE SEQUENCE trip_seq;
            CREATE FUNCTION trip() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF (SELECT count(*) FROM companies) >= 400 AND nextval('trip_seq') = 1 THEN
                RAISE EXCEPTION 'could not serialize access'
                  USING ERRCODE = 'serialization_failure';
              END IF;
              RETURN NEW;
            END $$;
            CREATE TRIGGER trip BEFORE INSERT ON companies FOR EACH ROW EXECUTE FUNCTION trip();
        """)
    reports = await drain()
    assert [r.status for r in reports] == ["queued", "done"]
    row = job(app_db, job_id)
    # Two runs; the interruption came after a committed batch, so it is no failure.
    assert (row["status"], row["processed"], row["total"], row["runs"], row["attempts"]) == (
        "done",
        1659,
        1659,
        2,
        0,
    )
    assert row["error"] is None
    uens = company_uens(app_db)
    assert len(uens) == len(set(uens)) == MANUFACTURING_ROWS


async def test_a_job_that_keeps_failing_transiently_ends_error_after_max_attempts(
    app_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queue, "BACKOFF_BASE_SECONDS", 0.0)
    job_id = await enqueue(app_db, manufacturing_codes(app_db), max_attempts=2)
    with psycopg.connect(app_db, autocommit=True) as conn:
        conn.execute("""
            CREATE FUNCTION dead() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              RAISE EXCEPTION 'deadlock detected' USING ERRCODE = 'deadlock_detected';
            END $$;
            CREATE TRIGGER dead BEFORE INSERT ON companies FOR EACH ROW EXECUTE FUNCTION dead();
        """)
    reports = await drain()
    assert [r.status for r in reports] == ["queued", "error"]
    row = job(app_db, job_id)
    # Each run failed before committing a batch: two failures, the second one final.
    assert row["status"] == "error" and row["attempts"] == 2 and row["processed"] == 0
    assert row["error"].startswith(
        "gave up after 2 failed attempts: DeadlockDetected: deadlock detected"
    ), row["error"]


async def test_cap_continues_in_follow_up_jobs_until_every_row_is_upserted(
    app_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from config.settings import reset_settings

    monkeypatch.setenv("STAGING_BATCH_SIZE", "120")
    monkeypatch.setenv("UPSERT_MAX_PER_JOB", "700")
    reset_settings()
    codes = manufacturing_codes(app_db)
    first = await enqueue(app_db, codes)
    reports = await drain()
    assert [(r.status, r.processed, r.total) for r in reports] == [
        ("done", 700, 700),
        ("done", 700, 700),
        ("done", 259, 259),
    ]
    chain = [job(app_db, r.job_id) for r in reports]
    assert chain[0]["job_id"] == first and chain[0]["parent_job_id"] is None
    assert [c["parent_job_id"] for c in chain[1:]] == [first, chain[1]["job_id"]]
    assert chain[1]["request_key"] == f"{chain[0]['request_key']}:after:{first}"
    assert [r.next_job_id for r in reports] == [chain[1]["job_id"], chain[2]["job_id"], None]
    assert all(c["processed"] == c["total"] and c["status"] == "done" for c in chain)
    uens = company_uens(app_db)
    assert len(uens) == len(set(uens)) == MANUFACTURING_ROWS
    assert set(uens) == matching_uens(app_db, codes)
    async with await psycopg.AsyncConnection.connect(app_db) as conn:
        shown = await queue.get_job(conn, first, "default")
    assert shown is not None and shown["next_job_id"] == chain[1]["job_id"]


async def test_repeat_while_a_continuation_is_live_returns_the_continuation(
    app_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from config.settings import reset_settings

    monkeypatch.setenv("STAGING_BATCH_SIZE", "250")
    monkeypatch.setenv("UPSERT_MAX_PER_JOB", "700")
    reset_settings()
    codes = manufacturing_codes(app_db)
    first = await enqueue(app_db, codes)
    [report] = await drain(max_jobs=1)
    assert report.status == "done" and report.next_job_id is not None
    # The same request again: the queued continuation is that request, not a new job.
    async with await psycopg.AsyncConnection.connect(app_db, autocommit=True) as conn:
        again = await queue.enqueue_staging_upsert(
            conn, tenant_id="default", terms=["manufactoring"], codes=codes, total=1659
        )
    assert not again.created
    assert again.job_id == report.next_job_id != first
    with psycopg.connect(app_db) as conn:
        live = conn.execute(
            "SELECT count(*) FROM background_jobs WHERE status IN ('queued', 'running')"
        ).fetchone()
    assert live == (1,)
    reports = await drain()
    assert [r.status for r in reports] == ["done", "done"]
    uens = company_uens(app_db)
    assert len(uens) == len(set(uens)) == MANUFACTURING_ROWS
