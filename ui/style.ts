/**
 * The cards' styles. Each card renders them in its own `<style>` element, which lives in
 * the shadow root LoadExternalComponent gives the card, so nothing leaks into the host
 * page (and class names carry an `icp-` prefix in case a host renders the cards inline).
 *
 * Colours follow the host: text inherits its colour and font, surfaces and borders are
 * mixed from `currentColor`, so the cards sit on agent-chat-ui's light and dark themes
 * alike; bucket and status colours switch with `prefers-color-scheme` or a `.dark` host.
 */

export const CARD_CSS = `
.icp-card {
  container-type: inline-size;
  box-sizing: border-box;
  max-width: 100%;
  margin: 8px 0;
  padding: 12px 14px;
  border: 1px solid color-mix(in srgb, currentColor 16%, transparent);
  border-radius: 12px;
  background: color-mix(in srgb, currentColor 3%, transparent);
  font: inherit;
  font-size: 14px;
  line-height: 1.4;
  color: inherit;
  --icp-muted: color-mix(in srgb, currentColor 62%, transparent);
  --icp-line: color-mix(in srgb, currentColor 12%, transparent);
  --icp-high-bg: #dcfce7; --icp-high-fg: #166534;
  --icp-medium-bg: #fef3c7; --icp-medium-fg: #92400e;
  --icp-low-bg: color-mix(in srgb, currentColor 10%, transparent); --icp-low-fg: inherit;
  --icp-accent: #2563eb;
  --icp-error: #b91c1c;
}
@media (prefers-color-scheme: dark) {
  .icp-card {
    --icp-high-bg: rgba(34, 197, 94, 0.18); --icp-high-fg: #86efac;
    --icp-medium-bg: rgba(245, 158, 11, 0.18); --icp-medium-fg: #fcd34d;
    --icp-accent: #60a5fa; --icp-error: #fca5a5;
  }
}
:host-context(.dark) .icp-card {
  --icp-high-bg: rgba(34, 197, 94, 0.18); --icp-high-fg: #86efac;
  --icp-medium-bg: rgba(245, 158, 11, 0.18); --icp-medium-fg: #fcd34d;
  --icp-accent: #60a5fa; --icp-error: #fca5a5;
}
.icp-card *, .icp-card *::before, .icp-card *::after { box-sizing: border-box; }
.icp-head { display: flex; flex-wrap: wrap; align-items: baseline; gap: 4px 10px; margin: 0 0 8px; }
.icp-title { font-weight: 600; font-size: 15px; margin: 0; }
.icp-muted { color: var(--icp-muted); }
.icp-small { font-size: 12px; }
.icp-pill {
  display: inline-flex; align-items: center; gap: 4px; white-space: nowrap;
  padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600;
  background: var(--icp-low-bg); color: var(--icp-low-fg);
}
.icp-high { background: var(--icp-high-bg); color: var(--icp-high-fg); }
.icp-medium { background: var(--icp-medium-bg); color: var(--icp-medium-fg); }
.icp-low { background: var(--icp-low-bg); color: var(--icp-low-fg); }
.icp-error-text { color: var(--icp-error); }
.icp-button {
  font: inherit; font-size: 13px; cursor: pointer; color: inherit;
  padding: 5px 12px; border-radius: 8px;
  border: 1px solid color-mix(in srgb, currentColor 25%, transparent);
  background: color-mix(in srgb, currentColor 6%, transparent);
}
.icp-button:hover:not(:disabled) { background: color-mix(in srgb, currentColor 12%, transparent); }
.icp-button:disabled { cursor: default; opacity: 0.55; }
.icp-button:focus-visible, .icp-row:focus-visible, .icp-link:focus-visible {
  outline: 2px solid var(--icp-accent); outline-offset: 1px;
}
.icp-link { color: var(--icp-accent); text-decoration: none; }
.icp-link:hover { text-decoration: underline; }
.icp-foot { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 12px; margin-top: 10px; }
`;
