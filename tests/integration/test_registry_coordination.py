"""Registry loads and running jobs coordinate through the registry lock (db.registry)."""

from __future__ import annotations

import csv
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import psycopg

from db.acra import load_file
from db.registry import REGISTRY_LOCK_KEY
from icp.cli import sample_files
from tests.integration.jobs_support import (
    ICP,
    MANUFACTURING_ROWS,
    ROOT,
    enqueue,
    icp_env,
    job,
    manufacturing_codes,
    slow_batches,
)

X_FILE = next(p for p in sample_files() if p.name.endswith("X.csv"))


def _new_rows(tmp_path: Path, name: str, code: str, n: int, prefix: str) -> Path:
    """Write an ACRA file of ``n`` new entities with SSIC ``code`` (UENs ``prefix...``)."""
    with X_FILE.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))[: n + 1]
    for i, cells in enumerate(rows[1:]):
        cells[0] = f"{prefix}{i:04d}A"
        cells[21] = code  # primary_ssic_code
    path = tmp_path / name
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return path


def _counts_exact(url: str) -> bool:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM (SELECT primary_ssic_code AS code, count(*) AS n,"
            " count(*) FILTER (WHERE is_live) AS n_live FROM staging_acra_companies"
            " WHERE primary_ssic_code IS NOT NULL GROUP BY 1) f"
            " FULL JOIN staging_ssic_counts c USING (code)"
            " WHERE f.n IS DISTINCT FROM c.n OR f.n_live IS DISTINCT FROM c.n_live"
        ).fetchone()
        pairs = conn.execute(
            "SELECT count(*) FROM (SELECT secondary_ssic_code AS secondary_code,"
            " coalesce(primary_ssic_code, '') AS primary_code, count(*) AS n,"
            " count(*) FILTER (WHERE is_live) AS n_live FROM staging_acra_companies"
            " WHERE secondary_ssic_code IS NOT NULL GROUP BY 1, 2) f"
            " FULL JOIN staging_ssic_pair_counts c USING (secondary_code, primary_code)"
            " WHERE f.n IS DISTINCT FROM c.n OR f.n_live IS DISTINCT FROM c.n_live"
        ).fetchone()
    return row == (0,) and pairs == (0,)


async def test_load_during_a_running_job_waits_and_the_job_ends_done(
    sample_db: str, tmp_path: Path
) -> None:
    codes = manufacturing_codes(sample_db)
    first = min(c.code for c in codes)
    # New rows in the job's range that sort before any cursor: a load published mid-walk
    # would leave them unprocessed and fail the job's final recount.
    new = _new_rows(tmp_path, "new.csv", first, 5, "00000")
    job_id = await enqueue(sample_db, codes)
    slow_batches(sample_db, 0.02)
    proc = subprocess.Popen(
        [ICP, "jobs", "run"],
        env=icp_env(sample_db, STAGING_BATCH_SIZE="20"),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while job(sample_db, job_id)["processed"] < 100:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.02)
        with psycopg.connect(sample_db, autocommit=True) as conn:
            res = load_file(conn, new, workers=2)
        loaded_at = job(sample_db, job_id)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out + err
    assert res.inserted == 5
    # The load published only after the walk: the job had ended when load_file returned.
    assert loaded_at["status"] == "done"
    done = job(sample_db, job_id)
    assert (done["status"], done["processed"], done["total"], done["error"]) == (
        "done",
        MANUFACTURING_ROWS,
        MANUFACTURING_ROWS,
        None,
    )
    assert _counts_exact(sample_db)
    with psycopg.connect(sample_db) as conn:
        row = conn.execute("SELECT n FROM staging_ssic_counts WHERE code = %s", (first,)).fetchone()
        actual = conn.execute(
            "SELECT count(*) FROM staging_acra_companies WHERE primary_ssic_code = %s", (first,)
        ).fetchone()
    assert row == actual and row is not None and row[0] >= 5


def test_concurrent_loads_publish_one_after_the_other_with_exact_counts(
    sample_db: str, tmp_path: Path
) -> None:
    a = _new_rows(tmp_path, "a.csv", "10711", 40, "A0000")
    b = _new_rows(tmp_path, "b.csv", "10711", 60, "B0000")
    errors: list[BaseException] = []

    def load(path: Path) -> None:
        try:
            with psycopg.connect(sample_db, autocommit=True) as conn:
                load_file(conn, path, workers=2)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    with psycopg.connect(sample_db) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (REGISTRY_LOCK_KEY,))
        threads = [threading.Thread(target=load, args=(p,)) for p in (a, b)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while True:  # both loads copied their rows and now wait to publish
            row = holder.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                " AND objid = %s::oid",
                (REGISTRY_LOCK_KEY,),
            ).fetchone()
            if row == (2,):
                break
            assert time.monotonic() < deadline and not errors, errors
            time.sleep(0.05)
        with psycopg.connect(sample_db) as reader:
            seen = reader.execute(
                "SELECT count(*) FROM staging_acra_companies WHERE uen ~ '^[AB]0000'"
            ).fetchone()
        assert seen == (0,)  # nothing is published while the lock is held
        holder.rollback()
        for t in threads:
            t.join(timeout=60)
    assert not errors, errors
    with psycopg.connect(sample_db) as conn:
        assert conn.execute(
            "SELECT count(*) FROM staging_acra_companies WHERE uen ~ '^[AB]0000'"
        ).fetchone() == (100,)
    assert _counts_exact(sample_db)


async def test_a_repeated_search_reuses_its_finished_job_until_the_registry_changes(
    app_db: str, tmp_path: Path
) -> None:
    """"back to bakeries" after its job finished queues nothing: the scores are current.
    A load that changes staging rows makes the next repeat queue a new job; a load that
    changes nothing (the same file again) does not."""
    from langgraph.checkpoint.memory import InMemorySaver

    from graph.graph import builder
    from jobs.runner import drain

    chat = builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "repeat"}}

    async def say(text: str) -> dict[str, Any]:
        message = {"type": "human", "content": [{"type": "text", "text": text}]}
        return await chat.ainvoke({"messages": [message]}, config)

    def jobs() -> int:
        with psycopg.connect(app_db) as conn:
            row = conn.execute("SELECT count(*) FROM background_jobs").fetchone()
            return int(row[0]) if row else 0

    first = (await say("bakeries"))["job"]
    await drain()
    await say("cafes")
    await drain()
    back = await say("back to bakeries")
    assert back["job"]["job_id"] == first["job_id"] and not back["job"]["created"]
    assert back["job"]["status"] == "done" and jobs() == 2
    text = str(back["messages"][-1].content)
    assert f"already scored by job {first['job_id']}" in text and "queued" not in text

    new = _new_rows(tmp_path, "new.csv", "10711", 3, "T9")  # three new bakeries
    with psycopg.connect(app_db, autocommit=True) as conn:
        load_file(conn, new, workers=1)
        again = await say("back to cafes")  # cafes' codes did not change, but the
        assert again["job"]["created"] and jobs() == 3  # registry did: rescored
        await drain()
        load_file(conn, new, workers=1)  # the same rows again: nothing changed
    same = await say("back to bakeries")
    assert same["job"]["created"]  # the first load changed bakeries: a new job
    await drain()
    with psycopg.connect(app_db, autocommit=True) as conn:
        load_file(conn, new, workers=1)
    kept = await say("back to cafes")
    assert not kept["job"]["created"] and kept["job"]["status"] == "done"
