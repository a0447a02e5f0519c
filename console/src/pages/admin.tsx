import { useState } from "preact/hooks";
import type { Ctx } from "../app";
import type { AccessKey, Api } from "../api";
import { Alert, message, useLoad, when } from "../ui";

export function AdminPage({ ctx }: { ctx: Ctx }) {
  const keys = useLoad(() => ctx.api.keys(), []);
  const [description, setDescription] = useState("");
  const [made, setMade] = useState<AccessKey | null>(null);
  const [error, setError] = useState("");

  async function create(event: Event): Promise<void> {
    event.preventDefault();
    setError("");
    try {
      setMade(await ctx.api.createKey(description));
      setDescription("");
      keys.reload();
    } catch (failure) {
      setError(message(failure));
    }
  }

  async function revoke(id: string): Promise<void> {
    if (!window.confirm(`Revoke ${id}? Clients using it stop working at once.`)) return;
    setError("");
    try {
      await ctx.api.revokeKey(id);
      keys.reload();
    } catch (failure) {
      setError(message(failure));
    }
  }

  return (
    <section aria-labelledby="admin-title">
      <h1 id="admin-title">Admin</h1>
      <h2>Access keys</h2>
      <form class="inline" onSubmit={(e) => void create(e)}>
        <label for="key-description">Description</label>
        <input
          id="key-description"
          value={description}
          maxLength={256}
          onInput={(e) => setDescription(e.currentTarget.value)}
        />
        <button class="primary" type="submit">
          Create access key
        </button>
      </form>
      {made && (
        <div class="card secret" role="status">
          <p>
            <strong>Copy the secret now: it is shown once.</strong>
          </p>
          <dl class="meta">
            <dt>Access key id</dt>
            <dd>
              <code data-testid="new-key-id">{made.access_key_id}</code>
            </dd>
            <dt>Secret access key</dt>
            <dd>
              <code data-testid="new-key-secret">{made.secret_access_key}</code>
            </dd>
          </dl>
          <button type="button" onClick={() => setMade(null)}>
            I have copied it
          </button>
        </div>
      )}
      <Alert text={error || keys.error} />
      {keys.data && (
        <table>
          <caption class="sr-only">Your access keys</caption>
          <thead>
            <tr>
              <th scope="col">Access key id</th>
              <th scope="col">Description</th>
              <th scope="col">Created</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {keys.data.map((key) => (
              <tr key={key.access_key_id}>
                <td>
                  <code>{key.access_key_id}</code>
                </td>
                <td>{key.description}</td>
                <td>{key.created ? when(key.created) : ""}</td>
                <td>
                  <button
                    type="button"
                    class="danger"
                    onClick={() => void revoke(key.access_key_id)}
                  >
                    Revoke<span class="sr-only"> {key.access_key_id}</span>
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <AuditLog api={ctx.api} />
    </section>
  );
}

/** The audit log's latest lines (admins of the whole store), filtered on the gateway. */
function AuditLog({ api }: { api: Api }) {
  const [draft, setDraft] = useState({ principal: "", action: "", decision: "" });
  const [filters, setFilters] = useState(draft);
  const lines = useLoad(() => api.audit(filters), [filters]);
  const field =
    (name: "principal" | "action") =>
    (event: Event): void => {
      setDraft({ ...draft, [name]: (event.currentTarget as HTMLInputElement).value });
    };
  return (
    <div class="card">
      <h2>Audit log</h2>
      <form
        class="inline"
        onSubmit={(event) => {
          event.preventDefault();
          setFilters(draft);
        }}
      >
        <label for="audit-principal">Principal</label>
        <input id="audit-principal" value={draft.principal} onInput={field("principal")} />
        <label for="audit-action">Action</label>
        <input id="audit-action" value={draft.action} onInput={field("action")} />
        <label for="audit-decision">Decision</label>
        <select
          id="audit-decision"
          value={draft.decision}
          onChange={(event) => {
            setDraft({ ...draft, decision: event.currentTarget.value });
          }}
        >
          <option value="">any</option>
          <option value="allow">allow</option>
          <option value="deny">deny</option>
        </select>
        <button type="submit">Filter</button>
      </form>
      <Alert text={lines.error} />
      {lines.data && lines.data.length === 0 && <p>No matching lines.</p>}
      {lines.data && lines.data.length > 0 && (
        <table data-testid="audit">
          <caption class="sr-only">Audit log, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Principal</th>
              <th scope="col">Operation</th>
              <th scope="col">Action</th>
              <th scope="col">Resource</th>
              <th scope="col">Decision</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {lines.data.map((line, index) => (
              <tr key={`${line.request_id}-${index}`}>
                <td>{when(line.time)}</td>
                <td>{line.principal}</td>
                <td>{line.operation}</td>
                <td>{line.action}</td>
                <td>
                  <code>{line.resource}</code>
                </td>
                <td>
                  <span class={line.decision === "allow" ? "badge ok" : "badge bad"}>
                    {line.decision}
                  </span>
                </td>
                <td>{line.status}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
