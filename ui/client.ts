/**
 * The cards' one way to call the product's HTTP API: the server and credentials of the
 * chat's own stream (agent-chat-ui's key travels as the `x-api-key` header, never in a
 * URL), a timeout on every request, and polling with exponential backoff.
 */

/** Where the chat's stream talks to, and the headers it authenticates with. */
export interface Api {
  url: string;
  headers: Record<string, string>;
}

/** A response that was not 2xx: its status and the server's one-line `detail`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    detail: string,
  ) {
    super(detail);
  }
}

type SdkClient = { threads?: { apiUrl?: unknown; defaultHeaders?: Record<string, unknown> } };

/**
 * Return the API of a `useStreamContext()` stream. The SDK keeps the deployment URL and
 * the default headers (with `x-api-key` when a key was given) on each of its sub-clients.
 */
export function apiOf(stream: { client: unknown }): Api {
  const threads = (stream.client as SdkClient).threads;
  const url = typeof threads?.apiUrl === "string" ? threads.apiUrl.replace(/\/$/, "") : "";
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(threads?.defaultHeaders ?? {})) {
    if (typeof value === "string") headers[name] = value;
  }
  return { url, headers };
}

/** GET a JSON resource of the API, failing after `timeoutMs` or when `signal` aborts. */
export async function getJson<T>(
  api: Api,
  path: string,
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<T> {
  const controller = new AbortController();
  const abort = () => controller.abort();
  const timer = setTimeout(abort, options.timeoutMs ?? 10_000);
  options.signal?.addEventListener("abort", abort, { once: true });
  try {
    const res = await fetch(`${api.url}${path}`, {
      headers: { ...api.headers, accept: "application/json" },
      cache: "no-store",
      signal: controller.signal,
    });
    if (!res.ok) {
      let detail = res.statusText || `HTTP ${res.status}`;
      try {
        const body = (await res.json()) as { detail?: unknown };
        if (typeof body.detail === "string") detail = body.detail;
      } catch {
        // not JSON: keep the status text
      }
      throw new HttpError(res.status, detail);
    }
    return (await res.json()) as T;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", abort);
  }
}

/** Milliseconds to wait before retry number `attempt` (1, 2, ...): doubling, capped, jittered. */
export function backoff(attempt: number, baseMs: number, maxMs = 30_000): number {
  const ms = Math.min(maxMs, baseMs * 2 ** Math.max(attempt, 0));
  return Math.round(ms * (0.85 + Math.random() * 0.3));
}

/** What a poll step decided: poll again after `intervalMs`, or stop. */
export type PollNext = "again" | "stop";

/**
 * Call `step` now and then every `intervalMs` until it returns "stop" or `stop()` is
 * called; a failing step is retried with backoff (`onError` hears the error and the delay
 * and may return "stop", e.g. for a 401). While the page is hidden no request is made.
 * Returns `stop`.
 */
export function poll(
  step: (signal: AbortSignal) => Promise<PollNext>,
  options: {
    intervalMs: number;
    onError: (error: unknown, retryInMs: number) => PollNext;
  },
): () => void {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;
  const run = async () => {
    let delay = options.intervalMs;
    if (typeof document !== "undefined" && document.hidden) {
      timer = setTimeout(run, delay);
      return;
    }
    try {
      if ((await step(controller.signal)) === "stop") return;
      failures = 0;
    } catch (error) {
      if (controller.signal.aborted) return;
      failures += 1;
      delay = backoff(failures, delay);
      if (options.onError(error, delay) === "stop") return;
    }
    if (!controller.signal.aborted) timer = setTimeout(run, delay);
  };
  void run();
  return () => {
    controller.abort();
    clearTimeout(timer);
  };
}
