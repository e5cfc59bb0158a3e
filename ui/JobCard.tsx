/**
 * Job card: live progress of the search's background job. Polls GET /jobs/{id} about
 * every 1.5 s (backing off on failures), follows the follow-up jobs a capped job hands
 * over to, and stops once the work has ended. Shows when a queued job will run, an ETA
 * while it runs, and done / error / cancelled; links to the job on the product page.
 */
import { useEffect, useMemo, useRef, useState } from "react";
import { useStreamContext } from "@langchain/langgraph-sdk/react-ui";
import { HttpError, apiOf, getJson, poll } from "./client";
import type { JobCard as Props, JobStatus } from "./props";
import { CARD_CSS } from "./style";

const POLL_MS = 1500;

/** GET /jobs/{id}; `runs_at`, `eta_seconds` and `when` are optional (servers that know them). */
interface JobPublic {
  job_id: number;
  status: JobStatus;
  processed: number;
  total: number;
  error: string | null;
  next_job_id: number | null;
  runs_at?: string | null;
  eta_seconds?: number | null;
  /** When the work happens, in words ("starts now", "runs at the next scheduled run, …"). */
  when?: string;
}

interface View {
  job: JobPublic;
  /** Rows processed by earlier jobs of the chain (a capped job's follow-ups). */
  before: number;
  /** Seconds left, measured from progress when the server gives none. */
  eta: number | null;
  /** Why polling paused or stopped, for people. */
  problem: string | null;
}

const CSS = `
.icp-bar { height: 8px; border-radius: 999px; overflow: hidden; margin: 8px 0 6px;
  background: color-mix(in srgb, currentColor 10%, transparent); }
.icp-fill { height: 100%; background: var(--icp-accent); transition: width 0.4s ease; }
.icp-job[data-status="done"] .icp-fill { background: var(--icp-high-fg); }
.icp-job[data-status="error"] .icp-fill, .icp-job[data-status="cancelled"] .icp-fill { background: var(--icp-error); }
.icp-state-done { background: var(--icp-high-bg); color: var(--icp-high-fg); }
.icp-state-running { background: color-mix(in srgb, var(--icp-accent) 18%, transparent); color: var(--icp-accent); }
.icp-state-error, .icp-state-cancelled { background: color-mix(in srgb, var(--icp-error) 15%, transparent); color: var(--icp-error); }
.icp-count { font-variant-numeric: tabular-nums; }
`;

const FINISHED: ReadonlySet<JobStatus> = new Set(["done", "error", "cancelled"]);

function fmt(n: number): string {
  return n.toLocaleString("en-US");
}

function duration(seconds: number): string {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  const h = Math.floor(seconds / 3600);
  const m = Math.round((seconds % 3600) / 60);
  return m ? `${h} h ${m} min` : `${h} h`;
}

function when(iso: string, now: number): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  const sameDay = at.toDateString() === new Date(now).toDateString();
  const time = at.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  const day = sameDay ? "" : `${at.toLocaleDateString(undefined, { weekday: "short" })} `;
  const left = (at.getTime() - now) / 1000;
  return left > 0 ? `${day}${time} (in ${duration(left)})` : `${day}${time}`;
}

export default function JobCard(props: Props) {
  const stream = useStreamContext();
  // The context hands out a new proxy each render; its client is the stable part.
  const client = stream.client;
  const api = useMemo(() => apiOf({ client }), [client]);
  const [view, setView] = useState<View>(() => ({
    job: {
      job_id: props.job_id,
      status: props.status,
      processed: 0,
      total: props.total,
      error: null,
      next_job_id: null,
      runs_at: props.runs_at,
      eta_seconds: props.eta_seconds,
    },
    before: 0,
    eta: null,
    problem: null,
  }));
  const samples = useRef<{ id: number; t: number; processed: number }[]>([]);

  useEffect(() => {
    let current = props.job_id;
    let before = 0;
    return poll(
      async (signal) => {
        const job = await getJson<JobPublic>(api, `/jobs/${current}`, { signal });
        if (job.status === "done" && job.next_job_id) {
          // A capped job handed the rest to a follow-up: count its rows, follow the chain.
          before += job.processed;
          current = job.next_job_id;
          samples.current = [];
          return "again";
        }
        const now = Date.now();
        const s = samples.current.filter((x) => x.id === job.job_id && now - x.t < 60_000);
        s.push({ id: job.job_id, t: now, processed: job.processed });
        samples.current = s;
        const rate = s.length > 1 ? (job.processed - s[0].processed) / ((now - s[0].t) / 1000) : 0;
        const eta = job.status === "running" && rate > 0 ? (job.total - job.processed) / rate : null;
        setView({ job, before, eta, problem: null });
        return FINISHED.has(job.status) ? "stop" : "again";
      },
      {
        intervalMs: POLL_MS,
        onError: (error, retryInMs) => {
          const status = error instanceof HttpError ? error.status : 0;
          const fatal = status === 401 || status === 403 || status === 404;
          const problem =
            status === 401 || status === 403
              ? "Progress needs sign-in: the API key of this chat was refused."
              : status === 404
                ? `Job ${current} is not visible to this key.`
                : `Progress unavailable (${error instanceof Error ? error.message : "network"}); ` +
                  `retrying in ${Math.round(retryInMs / 1000)} s.`;
          setView((v) => ({ ...v, problem }));
          return fatal ? "stop" : "again";
        },
      },
    );
  }, [api, props.job_id]);

  const { job, before, problem } = view;
  const total = Math.max(props.total, before + job.total);
  const done = Math.min(total, before + job.processed);
  const pct = total > 0 ? Math.floor((100 * done) / total) : 0;
  const runsAt = job.runs_at ?? props.runs_at;
  const eta = job.eta_seconds ?? view.eta;
  const now = Date.now();

  let line: string;
  if (job.status === "queued") {
    // The server's words first: they never promise a run no live process will make.
    line = job.when
      ? `Queued: ${job.when}.`
      : runsAt
        ? `Queued: runs ${when(runsAt, now)}.`
        : "Queued: nothing runs queued jobs right now.";
  } else if (job.status === "running") {
    line = eta !== null ? `Running: about ${duration(eta)} left.` : "Running.";
  } else if (job.status === "done") {
    line = `Done: ${fmt(done)} companies upserted and scored.`;
  } else if (job.status === "error") {
    line = `Failed: ${job.error ?? "unknown error"}`;
  } else {
    line = "Cancelled.";
  }

  return (
    <section
      className="icp-card icp-job"
      aria-label="Background job"
      data-status={job.status}
      data-job-id={job.job_id}
    >
      <style>{CARD_CSS + CSS}</style>
      <header className="icp-head">
        <h3 className="icp-title">{`Job #${props.job_id} \u00b7 ${props.terms.join(", ")}`}</h3>
        <span className={`icp-pill icp-state-${job.status}`} role="status">
          {job.status}
        </span>
      </header>
      <div
        className="icp-bar"
        role="progressbar"
        aria-label="Companies processed"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct}
      >
        <div className="icp-fill" style={{ width: `${pct}%` }} />
      </div>
      <div className="icp-count icp-small icp-muted">
        {`${fmt(done)} / ${fmt(total)} companies \u00b7 ${pct} %` +
          (job.job_id !== props.job_id ? ` \u00b7 continued as job #${job.job_id}` : "")}
      </div>
      <p className={`icp-line ${job.status === "error" ? "icp-error-text" : ""}`} style={{ margin: "6px 0 0" }}>
        {line}
      </p>
      {problem ? <p className="icp-problem icp-small icp-error-text" style={{ margin: "4px 0 0" }}>{problem}</p> : null}
      <footer className="icp-foot">
        <a
          className="icp-link icp-small"
          href={`${api.url}/app/?job=${job.job_id}`}
          target="_blank"
          rel="noopener noreferrer"
        >
          Open the job and its leads on the product page
        </a>
      </footer>
    </section>
  );
}
