/**
 * A small chat host built the way agent-chat-ui is: `useStream` from
 * @langchain/langgraph-sdk/react with its connect form (deployment URL and assistant
 * id in the query string, the API key in localStorage, sent as `x-api-key`), UI
 * messages folded into `values.ui` by `onCustomEvent`, and each AI message's cards
 * rendered with `LoadExternalComponent`. Used by tests/browser/test_generative_ui.py.
 */
import { StrictMode, useState, type FormEvent } from "react";
import { createRoot } from "react-dom/client";
import { useStream } from "@langchain/langgraph-sdk/react";
import type { Message } from "@langchain/langgraph-sdk";
import {
  LoadExternalComponent,
  isRemoveUIMessage,
  isUIMessage,
  uiMessageReducer,
  type RemoveUIMessage,
  type UIMessage,
} from "@langchain/langgraph-sdk/react-ui";

type StateType = { messages: Message[]; ui?: UIMessage[] };
const KEY_STORAGE = "lg:chat:apiKey"; // agent-chat-ui's own key

function text(content: Message["content"]): string {
  if (typeof content === "string") return content;
  return content
    .map((block) => ("text" in block && typeof block.text === "string" ? block.text : ""))
    .join("");
}

/** The little markdown the replies use: paragraphs and GFM tables (agent-chat-ui renders GFM). */
function Markdown(props: { text: string }) {
  const cells = (line: string) =>
    line
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((c) => c.trim().replace(/\\\|/g, "|"));
  return (
    <>
      {props.text.split(/\n{2,}/).map((block, i) => {
        if (!block.startsWith("|")) return <p key={i}>{block}</p>;
        const [head, , ...body] = block.split("\n");
        return (
          <table key={i} style={{ borderCollapse: "collapse", fontSize: 13 }}>
            <thead>
              <tr>
                {cells(head).map((c, j) => (
                  <th key={j} style={{ textAlign: "left", padding: "2px 6px" }}>
                    {c}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {body.map((row, r) => (
                <tr key={r}>
                  {cells(row).map((c, j) => (
                    <td key={j} style={{ padding: "2px 6px", borderTop: "1px solid #8884" }}>
                      {c}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        );
      })}
    </>
  );
}

function Chat(props: { apiUrl: string; assistantId: string; apiKey: string }) {
  const [input, setInput] = useState("");
  const stream = useStream<
    StateType,
    { CustomEventType: UIMessage | RemoveUIMessage; UpdateType: Partial<StateType> }
  >({
    apiUrl: props.apiUrl,
    apiKey: props.apiKey || undefined,
    assistantId: props.assistantId,
    onCustomEvent: (event, options) => {
      if (isUIMessage(event) || isRemoveUIMessage(event)) {
        options.mutate((prev) => ({ ...prev, ui: uiMessageReducer(prev.ui ?? [], event) }));
      }
    },
  });

  const send = (e: FormEvent) => {
    e.preventDefault();
    if (!input.trim() || stream.isLoading) return;
    const human: Message = {
      id: crypto.randomUUID(),
      type: "human",
      content: [{ type: "text", text: input }],
    };
    void stream.submit(
      { messages: [human] },
      {
        streamMode: ["values", "messages-tuple", "custom"],
        optimisticValues: (prev) => ({ ...prev, messages: [...(prev.messages ?? []), human] }),
      },
    );
    setInput("");
  };

  return (
    <main style={{ maxWidth: 768, margin: "0 auto", padding: 16 }}>
      <ol data-testid="messages" style={{ listStyle: "none", padding: 0 }}>
        {stream.messages.map((m, i) => (
          <li key={m.id ?? i} data-testid={`message-${m.type}`} style={{ margin: "12px 0" }}>
            <div data-testid="text">
              <Markdown text={text(m.content)} />
            </div>
            {m.type === "ai" &&
              (stream.values.ui ?? [])
                .filter((ui) => ui.metadata?.message_id === m.id)
                .map((ui) => (
                  <LoadExternalComponent
                    key={ui.id}
                    stream={stream}
                    message={ui}
                    meta={{ ui }}
                    className={`card card-${ui.name}`}
                  />
                ))}
          </li>
        ))}
      </ol>
      {stream.error ? <p role="alert">{String(stream.error)}</p> : null}
      <form onSubmit={send} style={{ display: "flex", gap: 8 }}>
        <input
          aria-label="Message"
          value={input}
          onChange={(e) => setInput(e.target.value)}
          style={{ flex: 1 }}
        />
        <button type="submit" disabled={stream.isLoading}>
          Send
        </button>
      </form>
      <p data-testid="status">{stream.isLoading ? "running" : "idle"}</p>
    </main>
  );
}

function Connect() {
  const params = new URLSearchParams(window.location.search);
  const [apiKey, setApiKey] = useState(() => window.localStorage.getItem(KEY_STORAGE) ?? "");
  const [ready, setReady] = useState(false);
  const apiUrl = params.get("apiUrl") ?? "";
  const assistantId = params.get("assistantId") ?? "";
  if (ready && apiUrl && assistantId) {
    return <Chat apiUrl={apiUrl} assistantId={assistantId} apiKey={apiKey} />;
  }
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        window.localStorage.setItem(KEY_STORAGE, apiKey);
        setReady(true);
      }}
      style={{ maxWidth: 480, margin: "10vh auto" }}
    >
      <label>
        LangSmith API Key{" "}
        <input type="password" value={apiKey} onChange={(e) => setApiKey(e.target.value)} />
      </label>
      <button type="submit">Continue</button>
    </form>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <Connect />
  </StrictMode>,
);
