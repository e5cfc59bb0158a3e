/**
 * Leads card: this turn's companies, best first, with score (bucket colour), UEN, status,
 * year of incorporation and area; a row expands to the score's rationale. Long lists are
 * windowed. "More" sends the follow-up message through the chat's own stream, so the
 * next page arrives as the next turn (with its own card), exactly as if typed.
 */
import { useState } from "react";
import { useStreamContext } from "@langchain/langgraph-sdk/react-ui";
import { apiOf } from "./client";
import type { LeadRow, LeadsCard as Props } from "./props";
import { CARD_CSS } from "./style";
import { useWindow } from "./virtual";

const ROW_HEIGHT = 58;
const MAX_VIEWPORT = 420;

const CSS = `
.icp-list { position: relative; overflow-y: auto; overscroll-behavior: contain;
  border-top: 1px solid var(--icp-line); border-bottom: 1px solid var(--icp-line); }
.icp-row {
  position: absolute; left: 0; right: 0; display: block; width: 100%; text-align: left;
  font: inherit; color: inherit; background: none; border: 0; cursor: pointer;
  border-bottom: 1px solid var(--icp-line); padding: 8px 4px; min-height: ${ROW_HEIGHT}px;
}
.icp-row:hover { background: color-mix(in srgb, currentColor 4%, transparent); }
.icp-row-main { display: flex; align-items: center; gap: 8px; min-width: 0; }
.icp-rank { min-width: 2.2em; text-align: right; font-variant-numeric: tabular-nums; }
.icp-name { flex: 1; min-width: 0; font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.icp-score { font-variant-numeric: tabular-nums; min-width: 3.4em; justify-content: center; }
.icp-sub { margin: 2px 0 0 calc(2.2em + 8px); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.icp-why { margin: 6px 0 2px calc(2.2em + 8px); white-space: normal; overflow-wrap: anywhere; }
@container (max-width: 420px) {
  .icp-rank { display: none; }
  .icp-sub, .icp-why { margin-left: 0; }
}
`;

function fmt(n: number): string {
  return n.toLocaleString("en-US");
}

function details(row: LeadRow): string {
  return [
    row.uen,
    row.status ?? (row.is_live === null ? null : row.is_live ? "live" : "not live"),
    row.incorporation_year === null ? null : `est. ${row.incorporation_year}`,
    row.area,
  ]
    .filter((part): part is string => Boolean(part))
    .join(" \u00b7 ");
}

function Row(props: {
  row: LeadRow;
  rank: number;
  index: number;
  top: number;
  open: boolean;
  toggle: (id: number) => void;
  measureRef: (el: HTMLElement | null) => void;
}) {
  const { row, open } = props;
  return (
    <button
      type="button"
      className="icp-row"
      style={{ top: props.top }}
      ref={props.measureRef}
      data-index={props.index}
      data-company-id={row.company_id}
      aria-expanded={open}
      onClick={() => props.toggle(row.company_id)}
    >
      <span className="icp-row-main">
        <span className="icp-rank icp-muted">{fmt(props.rank)}</span>
        <span className="icp-name" title={row.name}>
          {row.name}
        </span>
        <span
          className={`icp-pill icp-score icp-${row.bucket}`}
          title={`${row.bucket} fit`}
          data-bucket={row.bucket}
        >
          {row.score}
        </span>
      </span>
      <span className="icp-sub icp-muted icp-small" style={{ display: "block" }}>
        {details(row)}
      </span>
      {open ? (
        <span className="icp-why icp-small" style={{ display: "block" }}>
          {row.rationale}
        </span>
      ) : null}
    </button>
  );
}

export default function LeadsCard(props: Props) {
  const stream = useStreamContext();
  const [open, setOpen] = useState<ReadonlySet<number>>(() => new Set());
  const [asked, setAsked] = useState(false);
  const rows = props.rows;
  const height = Math.min(MAX_VIEWPORT, rows.length * ROW_HEIGHT + 2);
  const win = useWindow(rows.length, ROW_HEIGHT, height);

  const toggle = (id: number) =>
    setOpen((prev) => {
      const next = new Set(prev);
      if (!next.delete(id)) next.add(id);
      return next;
    });

  // Only the thread's newest leads card offers "more" (it pages the active search).
  const meta = stream.meta as { ui?: { id?: string } } | undefined;
  const values = stream.values as { ui?: { id: string; name: string }[] };
  const newest = (values.ui ?? []).filter((ui) => ui.name === "leads").at(-1)?.id;
  const isNewest = !meta?.ui?.id || !newest || newest === meta.ui.id;

  const askMore = () => {
    if (!props.more || asked) return;
    setAsked(true);
    const message = {
      id: crypto.randomUUID(),
      type: "human" as const,
      content: [{ type: "text" as const, text: props.more }],
    };
    void stream.submit(
      { messages: [message] },
      {
        streamMode: ["values", "messages-tuple", "custom"],
        optimisticValues: (prev: Record<string, unknown>) => ({
          ...prev,
          messages: [...((prev.messages as unknown[]) ?? []), message],
        }),
      },
    );
  };

  const last = props.first + rows.length - 1;
  return (
    <section className="icp-card icp-leads" aria-label="Leads" data-rows={rows.length}>
      <style>{CARD_CSS + CSS}</style>
      <header className="icp-head">
        <h3 className="icp-title">{`Leads \u00b7 ${props.terms.join(", ")}`}</h3>
        <span className="icp-muted icp-small">
          {`${fmt(props.first)}\u2013${fmt(last)}, best first \u00b7 ` +
            `${fmt(props.total)} companies match (${fmt(props.live)} live)`}
        </span>
        {props.filters?.length ? (
          <span className="icp-small icp-filters" style={{ flexBasis: "100%" }}>
            {`Filters: ${props.filters.join("; ")}`}
          </span>
        ) : null}
      </header>
      <div
        className="icp-list"
        ref={win.viewportRef}
        onScroll={win.onScroll}
        style={{ height }}
        role="list"
        aria-label={`${rows.length} companies`}
      >
        <div style={{ height: win.total, position: "relative" }}>
          {win.items.map(({ index, top }) => (
            <Row
              key={rows[index].company_id}
              row={rows[index]}
              rank={props.first + index}
              index={index}
              top={top}
              open={open.has(rows[index].company_id)}
              toggle={toggle}
              measureRef={win.measureRef}
            />
          ))}
        </div>
      </div>
      <footer className="icp-foot">
        {props.more && isNewest ? (
          <button
            type="button"
            className="icp-button icp-more"
            onClick={askMore}
            disabled={asked || stream.isLoading}
            title={`Sends \u201c${props.more}\u201d in the chat`}
          >
            {asked ? "Asked for more\u2026" : "More leads"}
          </button>
        ) : null}
        <a
          className="icp-link icp-small"
          href={`${apiOf(stream).url}/app/`}
          target="_blank"
          rel="noopener noreferrer"
        >
          All scored leads on the leads page
        </a>
      </footer>
    </section>
  );
}
