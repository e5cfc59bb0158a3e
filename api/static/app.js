// ICP Search: the product's own page. Plain ES module, no build step, same-origin only.
//  - search box: debounced preview (GET /icp/preview), in-flight request aborted on typing
//  - "Queue these": POST /jobs/staging_upsert, then poll GET /jobs/{id} with backoff; the
//    card says when the work happens (the server's "when": now, the scheduled run, …) and
//    "Run now" (POST /jobs/{id}/run) starts a job that waits for the schedule
//  - leads: a virtualized list (fixed row height, only visible rows in the DOM) paged by
//    cursor from GET /leads as the user scrolls

const $ = (id) => document.getElementById(id);
const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content ?? "";
const parsedDebounce = Number.parseInt(meta("icp-debounce-ms"), 10);
const DEBOUNCE_MS = Number.isFinite(parsedDebounce) && parsedDebounce >= 0 ? parsedDebounce : 400;
const AUTH_ON = meta("icp-auth") === "on";
const TOKEN_KEY = "icp.token";
const ROW_H = 56; // keep in sync with --row-h in app.css
const OVERSCAN = 8; // rows rendered above and below the visible ones
const PAGE_SIZE = 200;
const PREFETCH_ROWS = 60; // load the next page when this close to the loaded end
const CHIPS_SHOWN = 24;
const POLL_MIN_MS = 500;
const POLL_MAX_MS = 5000;
const FINAL = new Set(["done", "error", "cancelled"]);
const nf = new Intl.NumberFormat();

// ---------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

function storedToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || "";
  } catch {
    return "";
  }
}

async function api(path, { method = "GET", body, signal } = {}) {
  const headers = { Accept: "application/json" };
  const token = storedToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      signal,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "The server cannot be reached. Check your connection and try again.");
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    if (res.status === 401) showTokenForm(true);
    const detail = typeof data?.detail === "string" ? data.detail : `HTTP ${res.status}`;
    const message =
      res.status === 401 ? `Sign-in needed (${detail}). Paste an API token above.` : detail;
    throw new ApiError(res.status, message);
  }
  return data;
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("data-") || key.startsWith("aria-") || key === "role")
      node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

function setStatus(node, text, kind = "") {
  node.className = `status ${kind}`.trim();
  node.textContent = text;
}

// ---------------------------------------------------------------- token

const tokenForm = $("token-form");
const tokenInput = $("token");

function showTokenForm(show) {
  tokenForm.hidden = !show;
  if (show && !tokenInput.value) tokenInput.value = storedToken();
}

tokenForm.addEventListener("submit", (event) => {
  event.preventDefault();
  try {
    const value = tokenInput.value.trim();
    if (value) localStorage.setItem(TOKEN_KEY, value);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // private mode: the token lives only as long as this page
  }
  if (qInput.value.trim()) runPreview(qInput.value.trim());
  resetLeads();
  loadSearches();
  if (watch && !watch.stopped) pollSoon(watch);
  else if (jobFromUrl()) watchJob(jobFromUrl());
});

// ---------------------------------------------------------------- preview

const qInput = $("q");
const queueBtn = $("queue");
const previewStatus = $("preview-status");
const previewBody = $("preview-body");
let previewTimer = 0;
let previewCtl = null;
let current = null; // { text, data } of the last completed preview
let queueAfterPreview = false;
let queueing = false;
let chipsExpanded = false;

function updateQueueButton() {
  const ready =
    current && current.text === qInput.value.trim() && current.data.total > 0 && !queueing;
  queueBtn.disabled = !ready;
}

function schedulePreview() {
  clearTimeout(previewTimer);
  if (previewCtl) {
    previewCtl.abort();
    previewCtl = null;
  }
  updateQueueButton();
  const text = qInput.value.trim();
  if (!text) {
    current = null;
    queueAfterPreview = false;
    previewBody.hidden = true;
    setStatus(previewStatus, "Start typing to preview matching companies.", "idle");
    return;
  }
  setStatus(previewStatus, "Looking up industries…", "loading");
  previewTimer = setTimeout(() => runPreview(text), DEBOUNCE_MS);
}

async function runPreview(text) {
  clearTimeout(previewTimer);
  if (previewCtl) previewCtl.abort();
  const ctl = new AbortController();
  previewCtl = ctl;
  setStatus(previewStatus, "Looking up industries…", "loading");
  try {
    const data = await api(`/icp/preview?q=${encodeURIComponent(text)}`, { signal: ctl.signal });
    if (ctl !== previewCtl) return;
    previewCtl = null;
    current = { text, data };
    renderPreview(text, data);
    if (queueAfterPreview) {
      queueAfterPreview = false;
      if (data.total > 0) queueCurrent();
    }
  } catch (err) {
    if (err.name === "AbortError" || ctl !== previewCtl) return;
    previewCtl = null;
    queueAfterPreview = false;
    current = null;
    previewBody.hidden = true;
    setStatus(previewStatus, `Preview failed: ${err.message}`, "error");
  } finally {
    updateQueueButton();
  }
}

function renderPreview(text, data) {
  if (!data.terms.length) {
    previewBody.hidden = true;
    setStatus(previewStatus, `“${text}” doesn’t name an industry. Try e.g. “bakery” or “software”.`);
    return;
  }
  if (!data.codes.length && data.too_broad && data.too_broad.length) {
    previewBody.hidden = true;
    const groups = data.options.map((o) => o.title).join("; ");
    setStatus(
      previewStatus,
      `${data.too_broad.map((t) => `“${t}”`).join(", ")} is too broad to search. ` +
        `Which kind do you mean? For example: ${groups}.`,
    );
    return;
  }
  if (!data.codes.length) {
    previewBody.hidden = true;
    setStatus(
      previewStatus,
      `No SSIC 2020 industry matches ${data.terms.map((t) => `“${t}”`).join(", ")}. ` +
        "Try a broader word such as “food” or “logistics”.",
    );
    return;
  }
  setStatus(
    previewStatus,
    data.total > 0
      ? "Queue these to enrich and score every matching company in the background."
      : "These industries have no companies in the registry yet.",
  );
  $("total").textContent = nf.format(data.total);
  $("live").textContent = nf.format(data.live);
  $("ncodes").textContent = nf.format(data.codes.length);
  $("reasons").replaceChildren(
    ...data.reasons.map((r) =>
      el("li", {}, el("b", { text: r.term }), ` → ${r.reason} (${nf.format(r.count)} codes)`),
    ),
  );
  chipsExpanded = false;
  renderChips(data.codes);
  const rows = data.sample.map((s) =>
    el(
      "tr",
      {},
      el("td", { text: s.uen }),
      el("td", { text: s.name }),
      el("td", { text: s.industry_code }),
      el(
        "td",
        {},
        el("span", { class: `pill ${s.is_live ? "live" : "gone"}`, text: s.is_live ? "Live" : "Not live" }),
      ),
    ),
  );
  if (!rows.length) rows.push(el("tr", {}, el("td", { colSpan: 4, text: "No sample rows." })));
  $("sample").replaceChildren(...rows);
  previewBody.hidden = false;
}

function renderChips(codes) {
  const shown = chipsExpanded ? codes : codes.slice(0, CHIPS_SHOWN);
  const chips = shown.map((c) =>
    el("span", { class: "chip", title: `${c.code} ${c.title}` }, el("code", { text: c.code }), el("span", { text: c.title })),
  );
  if (codes.length > CHIPS_SHOWN) {
    const more = el("button", {
      type: "button",
      class: "btn-link",
      text: chipsExpanded ? "Show fewer" : `+${nf.format(codes.length - CHIPS_SHOWN)} more`,
    });
    more.addEventListener("click", () => {
      chipsExpanded = !chipsExpanded;
      renderChips(codes);
      $("codes").querySelector("button")?.focus();
    });
    chips.push(more);
  }
  $("codes").replaceChildren(...chips);
}

qInput.addEventListener("input", schedulePreview);
qInput.addEventListener("keydown", (event) => {
  if (event.key !== "Enter") return;
  event.preventDefault();
  const text = qInput.value.trim();
  if (!text || queueing) return;
  if (current && current.text === text && !previewCtl) {
    if (current.data.total > 0) queueCurrent();
    return;
  }
  queueAfterPreview = true; // skip the rest of the debounce: preview now, then queue
  runPreview(text);
});
queueBtn.addEventListener("click", () => queueCurrent());

async function queueCurrent() {
  if (!current || queueing || !current.data.terms.length) return;
  queueing = true;
  updateQueueButton();
  queueBtn.textContent = "Queueing…";
  try {
    const job = await api("/jobs/staging_upsert", {
      method: "POST",
      body: { terms: current.data.terms.slice(0, 10) },
    });
    watchJob(job.job_id, job.created ? "Queued." : "Already queued: showing the existing job.");
  } catch (err) {
    setStatus(previewStatus, `Could not queue: ${err.message}`, "error");
  } finally {
    queueing = false;
    queueBtn.textContent = "Queue these";
    updateQueueButton();
  }
}

// ---------------------------------------------------------------- job progress

const jobCard = $("job");
const runBtn = $("job-run");
const WAITING = new Set(["scheduled", "retry", "no_runner"]); // a queued job "Run now" helps
let watch = null; // { id, delay, last, timer, stopped }

function jobFromUrl() {
  const raw = new URLSearchParams(location.search).get("job");
  return raw && /^[0-9]{1,18}$/.test(raw) ? raw : null;
}

function setJobInUrl(id) {
  const url = new URL(location.href);
  if (id) url.searchParams.set("job", String(id));
  else url.searchParams.delete("job");
  history.replaceState(null, "", url);
}

function watchJob(id, note = "", carried = 0) {
  if (watch) {
    watch.stopped = true;
    clearTimeout(watch.timer);
  }
  setJobInUrl(id);
  jobCard.hidden = false;
  $("job-id").textContent = `#${id}`;
  $("job-note").textContent = note;
  // carried: rows processed by the earlier jobs of a chain this page followed
  watch = { id, delay: POLL_MIN_MS, last: null, timer: 0, stopped: false, carried };
  poll(watch);
}

function pollSoon(w) {
  clearTimeout(w.timer);
  w.delay = POLL_MIN_MS;
  poll(w);
}

async function poll(w) {
  if (w.stopped) return;
  try {
    const job = await api(`/jobs/${w.id}`);
    if (w.stopped) return;
    renderJob(job, w.carried);
    if (FINAL.has(job.status)) {
      if (job.next_job_id) {
        watchJob(
          job.next_job_id,
          `Job #${job.job_id} reached its per-job limit; job #${job.next_job_id} continues it.`,
          w.carried + job.processed,
        );
        return;
      }
      w.stopped = true;
      if (job.status === "done") {
        resetLeads();
        loadSearches();
      }
      return;
    }
    const progress = `${job.status}:${job.processed}`;
    w.delay = progress === w.last ? Math.min(w.delay * 2, POLL_MAX_MS) : POLL_MIN_MS;
    w.last = progress;
  } catch (err) {
    if (w.stopped) return;
    const note = $("job-note");
    note.className = "note error";
    if (err.status === 404 || err.status === 401) {
      note.textContent =
        err.status === 404 ? `Job #${w.id} was not found (it may belong to another account).` : err.message;
      if (err.status === 404) setJobInUrl(null);
      w.stopped = true;
      return;
    }
    note.textContent = `Could not refresh progress: ${err.message} Retrying…`;
    w.delay = Math.min(w.delay * 2, POLL_MAX_MS);
  }
  w.timer = setTimeout(() => poll(w), w.delay);
}

function duration(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.ceil(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
}

function whenText(job) {
  if (job.start === "running")
    return job.eta_seconds == null ? "Running…" : `Running · about ${duration(job.eta_seconds)} left`;
  if (job.start === "finished" || !job.when) return "";
  return `${job.when.charAt(0).toUpperCase()}${job.when.slice(1)}.`;
}

runBtn.addEventListener("click", async () => {
  const w = watch;
  if (!w || w.stopped) return;
  runBtn.disabled = true;
  try {
    const job = await api(`/jobs/${w.id}/run`, { method: "POST" });
    if (w === watch) renderJob(job, w.carried);
  } catch (err) {
    const note = $("job-note");
    note.className = "note error";
    note.textContent = `Could not run it now: ${err.message}`;
  } finally {
    runBtn.disabled = false;
    if (w === watch && !w.stopped) pollSoon(w);
  }
});

function renderJob(job, carried = 0) {
  const processed = carried + job.processed;
  const total = carried + job.total;
  const pct =
    job.status === "done" ? 100 : total > 0 ? Math.min(100, Math.floor((100 * processed) / total)) : 0;
  jobCard.className = `card job-card ${job.status}`;
  $("job-id").textContent = `#${job.job_id}`;
  const state = $("job-state");
  state.textContent = job.status;
  state.className = `badge ${job.status}`;
  $("job-terms").textContent = job.terms.length ? `Industries: ${job.terms.join(", ")}` : "";
  const fill = $("job-fill");
  if (!watch?.painted) {
    // The first paint of a (re)loaded job shows its state at once, without the animation.
    fill.style.transition = "none";
    requestAnimationFrame(() => requestAnimationFrame(() => (fill.style.transition = "")));
    if (watch) watch.painted = true;
  }
  fill.style.width = `${pct}%`;
  const bar = $("job-progress");
  bar.setAttribute("aria-valuenow", String(pct));
  bar.setAttribute("aria-valuetext", `${pct} percent, ${job.status}`);
  const partial = job.parent_job_id && !carried; // resumed mid-chain: earlier jobs unknown
  $("job-count").textContent =
    `${nf.format(processed)} / ${nf.format(total)} companies` + (partial ? " in this job" : "");
  $("job-pct").textContent = `${pct} %`;
  $("job-when").textContent = whenText(job);
  runBtn.hidden = !(job.status === "queued" && WAITING.has(job.start));
  const note = $("job-note");
  note.className = "note";
  if (job.status === "error") {
    note.className = "note error";
    note.textContent = `Failed: ${job.error || "unknown error"}`;
  } else if (job.status === "cancelled") {
    note.textContent = "Cancelled. Companies scored before the cancel stay in your leads.";
  } else if (job.status === "done") {
    note.textContent = job.next_job_id
      ? `Continued by job #${job.next_job_id}.`
      : partial
        ? `Done. This job finished the search continued from job #${job.parent_job_id}; ` +
          "its companies are enriched, scored and in your leads below."
        : `Done. ${nf.format(processed)} companies are enriched, scored and in your leads below.`;
  } else {
    note.textContent = job.parent_job_id ? `Continues job #${job.parent_job_id}.` : "";
  }
}

// ---------------------------------------------------------------- leads (virtualized)

const viewport = $("leads");
const spacer = $("spacer");
const leadsStatus = $("leads-status");
let list = newList("");
let frame = 0;
const rendered = new Map(); // row index -> element
let tail = null; // the "loading / end / error" line after the last row

function newList(bucket, search = "", status = "live") {
  return { bucket, search, status, rows: [], cursor: null, done: false, loading: false, error: null, ctl: null, active: -1 };
}

function resetLeads() {
  list.ctl?.abort();
  const bucket = document.querySelector('input[name="bucket"]:checked')?.value ?? "";
  list = newList(bucket, $("search-pick").value, $("show-all").checked ? "all" : "live");
  showDetail(null);
  for (const node of rendered.values()) node.remove();
  rendered.clear();
  viewport.scrollTop = 0;
  viewport.removeAttribute("aria-activedescendant");
  loadMore();
}

async function loadMore() {
  const state = list;
  if (state.loading || state.done) return;
  state.loading = true;
  state.error = null;
  const ctl = new AbortController();
  state.ctl = ctl;
  render();
  const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (state.bucket) params.set("bucket", state.bucket);
  if (state.search) params.set("search_id", state.search);
  if (state.status !== "live") params.set("status", state.status);
  if (state.cursor) params.set("cursor", state.cursor);
  try {
    const page = await api(`/leads?${params}`, { signal: ctl.signal });
    if (state !== list) return;
    for (const row of page.data) state.rows.push(row);
    state.cursor = page.next_cursor;
    state.done = !page.next_cursor;
  } catch (err) {
    if (err.name === "AbortError" || state !== list) return;
    state.error = err;
  } finally {
    if (state === list) {
      state.loading = false;
      state.ctl = null;
      render();
    }
  }
}

function scheduleRender() {
  if (!frame) frame = requestAnimationFrame(() => {
    frame = 0;
    render();
  });
}

function leadRow(lead, index) {
  const row = el(
    "div",
    {
      class: `row bucket-${lead.bucket}`,
      role: "option",
      id: `lead-${index}`,
      "data-index": String(index),
      "data-company-id": String(lead.company_id),
      "aria-selected": "false",
      title: "Select for the full score rationale",
    },
    el("div", { class: "score" }, el("span", { class: "dot", title: lead.bucket }), el("span", { class: "num", text: String(lead.score) })),
    el("div", { class: "who" }, el("div", { class: "name", text: lead.name }), el("div", { class: "why", text: [lead.uen, lead.status, lead.address].filter(Boolean).join(" · ") })),
    el("div", { class: "ind" }, el("code", { text: lead.industry_code ?? "—" }), ` ${lead.industry_norm ?? ""}`),
    el("div", { class: "year", text: lead.incorporation_year ? String(lead.incorporation_year) : "—" }),
  );
  row.setAttribute("aria-label", `${lead.name}, score ${lead.score}, ${lead.bucket}`);
  row.style.transform = `translateY(${index * ROW_H}px)`;
  row.addEventListener("click", () => setActive(index));
  return row;
}

// The selected lead in full under the list: UEN, status, address and the whole rationale
// (the points of every factor), never cut off.
function showDetail(lead) {
  const box = $("lead-detail");
  box.replaceChildren();
  box.hidden = !lead;
  if (!lead) return;
  const facts = [
    ["UEN", lead.uen],
    ["Status", lead.status ?? "unknown"],
    ["Address", lead.address ?? "unknown"],
    ["Industry", `${lead.industry_code ?? "—"} ${lead.industry_norm ?? ""}`],
    ["Score", `${lead.score} (${lead.bucket})`],
  ];
  box.append(
    el("h3", { text: lead.name }),
    el("dl", {}, ...facts.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })])),
    el("p", { class: "rationale" }, el("b", { text: "Why this score: " }), lead.rationale),
  );
}

async function loadSearches() {
  const pick = $("search-pick");
  try {
    const { data } = await api("/icp/searches");
    const chosen = pick.value;
    while (pick.options.length > 1) pick.remove(1);
    for (const s of data) {
      const label = `${s.terms.join(", ") || s.codes.length + " codes"} — ${nf.format(s.total)} companies (${nf.format(s.live)} live) · ${nf.format(s.scored)} scored`;
      pick.append(el("option", { value: String(s.search_id), text: label }));
    }
    pick.value = chosen;
    if (pick.value !== chosen) pick.value = "";
  } catch (err) {
    pick.title = `Could not load your searches: ${err.message}`;
  }
}

function render() {
  const n = list.rows.length;
  const tailRows = n === 0 && !list.loading ? 0 : 1;
  spacer.style.height = `${(n + tailRows) * ROW_H}px`;
  viewport.dataset.loaded = String(n);
  viewport.dataset.done = String(list.done);
  viewport.dataset.loading = String(list.loading);

  const top = viewport.scrollTop;
  const height = viewport.clientHeight || 560;
  const first = Math.max(0, Math.floor(top / ROW_H) - OVERSCAN);
  const last = Math.min(n - 1, Math.ceil((top + height) / ROW_H) + OVERSCAN);
  for (const [index, node] of rendered) {
    if (index < first || index > last) {
      node.remove();
      rendered.delete(index);
    }
  }
  const fresh = document.createDocumentFragment();
  for (let i = first; i <= last; i++) {
    let node = rendered.get(i);
    if (!node) {
      node = leadRow(list.rows[i], i);
      rendered.set(i, node);
      fresh.append(node);
    }
    const active = i === list.active;
    node.classList.toggle("active", active);
    node.setAttribute("aria-selected", String(active));
  }
  viewport.append(fresh);
  renderTail(n);
  renderLeadsStatus(n);
  if (!list.loading && !list.done && !list.error && last >= n - PREFETCH_ROWS) loadMore();
}

function retryButton() {
  const retry = el("button", { type: "button", class: "btn-link", text: "Retry" });
  retry.addEventListener("click", () => loadMore());
  return retry;
}

function renderTail(n) {
  tail?.remove();
  tail = null;
  const compact = n === 0 && !list.loading;
  viewport.classList.toggle("compact", compact);
  $("list-head").hidden = compact;
  if (compact && list.error) {
    tail = el(
      "div",
      { class: "empty error", role: "alert" },
      el("b", { text: "Could not load your leads" }),
      `${list.error.message} `,
      retryButton(),
    );
  } else if (compact) {
    tail = el(
      "div",
      { class: "empty" },
      el("b", { text: list.bucket ? `No ${list.bucket} leads yet` : "No leads yet" }),
      "Search for an industry above and queue it: scored companies appear here, best first.",
    );
  } else if (list.error) {
    tail = el(
      "div",
      { class: "list-end", role: "alert" },
      el("span", {}, `Could not load more leads: ${list.error.message} `, retryButton()),
    );
  } else if (list.loading) {
    tail = el("div", { class: "list-end", text: n ? "Loading more leads…" : "Loading leads…" });
  } else if (list.done) {
    tail = el("div", { class: "list-end", text: `End of list · ${nf.format(n)} leads` });
  }
  if (tail) {
    tail.style.transform = `translateY(${n * ROW_H}px)`;
    viewport.append(tail);
  }
}

function renderLeadsStatus(n) {
  if (list.loading && !n) setStatus(leadsStatus, "Loading leads…", "loading");
  else if (!n) setStatus(leadsStatus, "");
  else
    setStatus(
      leadsStatus,
      list.done
        ? `${nf.format(n)} leads, best first`
        : `${nf.format(n)} leads loaded, best first · more load as you scroll`,
    );
}

viewport.addEventListener("scroll", scheduleRender, { passive: true });
window.addEventListener("resize", scheduleRender);
for (const radio of document.querySelectorAll('input[name="bucket"]')) {
  radio.addEventListener("change", resetLeads);
}
$("search-pick").addEventListener("change", resetLeads);

// ---------------------------------------------------------------- CSV download
// The file comes from GET /leads/export.csv with the same token as every call, so it is
// fetched here and handed to the browser as a download (a plain link carries no header).
const download = $("download-csv");
function syncDownload() {
  download.disabled = !$("search-pick").value;
}
$("search-pick").addEventListener("change", syncDownload);
download.addEventListener("click", async () => {
  const params = new URLSearchParams({
    search_id: $("search-pick").value,
    status: $("show-all").checked ? "all" : "live",
  });
  const headers = {};
  const token = storedToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  download.disabled = true;
  setStatus(leadsStatus, "Preparing the CSV…", "loading");
  try {
    const res = await fetch(`/leads/export.csv?${params}`, { headers });
    if (!res.ok) {
      const data = await res.json().catch(() => null);
      throw new Error(typeof data?.detail === "string" ? data.detail : `HTTP ${res.status}`);
    }
    const blob = await res.blob();
    const name = /filename="([^"]+)"/.exec(res.headers.get("content-disposition") || "");
    const link = el("a", { href: URL.createObjectURL(blob), download: name ? name[1] : "leads.csv" });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    setStatus(leadsStatus, "CSV downloaded.");
  } catch (err) {
    setStatus(leadsStatus, `Could not download the CSV: ${err.message}`, "error");
  } finally {
    syncDownload();
  }
});
$("show-all").addEventListener("change", resetLeads);

function setActive(index) {
  const n = list.rows.length;
  if (!n) return;
  const i = Math.max(0, Math.min(n - 1, index));
  list.active = i;
  const top = i * ROW_H;
  if (top < viewport.scrollTop) viewport.scrollTop = top;
  else if (top + ROW_H > viewport.scrollTop + viewport.clientHeight)
    viewport.scrollTop = top + ROW_H - viewport.clientHeight;
  render();
  viewport.setAttribute("aria-activedescendant", `lead-${i}`);
  showDetail(list.rows[i]);
}

viewport.addEventListener("keydown", (event) => {
  const perPage = Math.max(1, Math.floor(viewport.clientHeight / ROW_H) - 1);
  const at = list.active < 0 ? Math.floor(viewport.scrollTop / ROW_H) - 1 : list.active;
  const moves = {
    ArrowDown: at + 1,
    ArrowUp: at - 1,
    PageDown: at + perPage,
    PageUp: at - perPage,
    Home: 0,
    End: list.rows.length - 1,
  };
  if (!(event.key in moves)) return;
  event.preventDefault();
  setActive(moves[event.key]);
});
viewport.addEventListener("focus", () => {
  if (list.active < 0 && list.rows.length) setActive(Math.floor(viewport.scrollTop / ROW_H));
});

// ---------------------------------------------------------------- start

showTokenForm(AUTH_ON);
resetLeads();
loadSearches();
const resumed = jobFromUrl();
if (resumed) watchJob(resumed);
