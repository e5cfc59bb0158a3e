/**
 * Search card: the SSIC 2020 industries the message matched, one chip per group with its
 * official title, subclass count and companies (live / total), and the words not used.
 */
import type { SearchCard as Props, SearchGroup } from "./props";
import { CARD_CSS } from "./style";

const CSS = `
.icp-chips { display: flex; flex-wrap: wrap; gap: 6px; margin: 0; padding: 0; list-style: none; }
.icp-chip {
  display: inline-flex; flex-wrap: wrap; align-items: baseline; gap: 2px 8px; max-width: 100%;
  padding: 5px 10px; border-radius: 10px; border: 1px solid var(--icp-line);
  background: color-mix(in srgb, currentColor 5%, transparent);
}
.icp-chip-title { font-weight: 600; overflow-wrap: anywhere; }
.icp-chip-count { font-variant-numeric: tabular-nums; }
.icp-unused { margin: 8px 0 0; }
.icp-word { text-decoration: line-through; text-decoration-color: var(--icp-muted); }
.icp-note { margin: 8px 0 0; }
`;

const LEVELS: Record<string, string> = {
  section: "section",
  division: "division",
  group: "group",
  class: "class",
  subclass: "subclass",
  phrase: "index phrase",
};

function fmt(n: number): string {
  return n.toLocaleString("en-US");
}

function Chip({ group, counted }: { group: SearchGroup; counted: boolean }) {
  const how = `\u201c${group.term}\u201d \u2192 SSIC ${LEVELS[group.level] ?? group.level} ${group.code}`;
  return (
    <li className="icp-chip" title={how} data-code={group.code}>
      <span className="icp-chip-title">{group.title}</span>
      <span className="icp-muted icp-small">{`${group.code} \u00b7 ${fmt(group.codes)} code${group.codes === 1 ? "" : "s"}`}</span>
      {counted ? (
        <span className="icp-chip-count icp-small">{`${fmt(group.live)} live / ${fmt(group.total)}`}</span>
      ) : null}
    </li>
  );
}

export default function SearchCard(props: Props) {
  const n = props.groups.length;
  return (
    <section className="icp-card icp-search" aria-label="Search">
      <style>{CARD_CSS + CSS}</style>
      <header className="icp-head">
        <h3 className="icp-title">{`Matched ${n} industr${n === 1 ? "y" : "ies"}`}</h3>
        {props.mode !== "off" ? (
          <span className="icp-muted icp-small">
            {`${fmt(props.total)} companies \u00b7 ${fmt(props.live)} live`}
          </span>
        ) : null}
      </header>
      <ul className="icp-chips" aria-label="Matched SSIC groups">
        {props.groups.map((group) => (
          <Chip key={`${group.term}:${group.code}`} group={group} counted={props.mode !== "off"} />
        ))}
      </ul>
      {props.unused.length ? (
        <p className="icp-unused icp-small">
          <span className="icp-muted">Not used: </span>
          {props.unused.map((word, i) => (
            <span key={word}>
              {i ? ", " : ""}
              <span className="icp-word">{word}</span>
            </span>
          ))}
        </p>
      ) : null}
      {props.mode === "sync_preview" ? (
        <p className="icp-note icp-small icp-muted">Preview only: nothing was saved.</p>
      ) : props.mode === "off" ? (
        <p className="icp-note icp-small icp-muted">Registry search is switched off for your workspace.</p>
      ) : null}
    </section>
  );
}
