import { useState } from "preact/hooks";
import type { Ctx } from "../app";
import { mayWrite, usePermissions } from "../app";
import { follow, href } from "../router";
import { Alert, message, useLoad, when } from "../ui";

export function BucketsPage({ ctx }: { ctx: Ctx }) {
  const { api, auth } = ctx;
  const buckets = useLoad(async () => {
    const found = await api.listBuckets();
    return Promise.all(
      found.map(async (bucket) => ({
        ...bucket,
        public: await api.isPublic(bucket.name).catch(() => null),
      })),
    );
  }, []);
  const [name, setName] = useState("");
  const [error, setError] = useState("");
  const [deleting, setDeleting] = useState<string | null>(null);
  const writer = mayWrite(auth, "");

  async function create(event: Event): Promise<void> {
    event.preventDefault();
    setError("");
    try {
      await api.createBucket(name.trim());
      setName("");
      buckets.reload();
    } catch (failure) {
      setError(message(failure));
    }
  }

  return (
    <section aria-labelledby="buckets-title">
      <h1 id="buckets-title">Buckets</h1>
      {writer && (
        <form class="inline" onSubmit={(e) => void create(e)}>
          <label for="new-bucket">New bucket name</label>
          <input
            id="new-bucket"
            value={name}
            required
            minLength={3}
            maxLength={63}
            pattern="[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]"
            onInput={(e) => setName(e.currentTarget.value)}
          />
          <button class="primary" type="submit">
            Create bucket
          </button>
        </form>
      )}
      <Alert text={error || buckets.error} />
      {buckets.loading && <p aria-live="polite">Loading…</p>}
      {buckets.data && buckets.data.length === 0 && <p>No buckets you may list.</p>}
      {buckets.data && buckets.data.length > 0 && (
        <table>
          <caption class="sr-only">Buckets you may list</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Access</th>
              <th scope="col">Created</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {buckets.data.map((bucket) => (
              <tr key={bucket.name}>
                <td>
                  <a
                    href={href({
                      page: "objects",
                      bucket: bucket.name,
                      prefix: "",
                    })}
                    onClick={follow}
                  >
                    {bucket.name}
                  </a>
                </td>
                <td>
                  {bucket.public === null ? (
                    <span class="badge">unknown</span>
                  ) : (
                    <span class={bucket.public ? "badge warn" : "badge"}>
                      {bucket.public ? "public" : "private"}
                    </span>
                  )}
                </td>
                <td>{when(bucket.created)}</td>
                <td class="actions">
                  <a href={href({ page: "settings", bucket: bucket.name })} onClick={follow}>
                    Settings<span class="sr-only"> of {bucket.name}</span>
                  </a>
                  <DeleteControl
                    ctx={ctx}
                    bucket={bucket.name}
                    onClick={() => setDeleting(bucket.name)}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {deleting && (
        <DeleteBucket
          ctx={ctx}
          bucket={deleting}
          onDone={() => {
            setDeleting(null);
            buckets.reload();
          }}
        />
      )}
    </section>
  );
}

/** Deleting a bucket with what is in it asks for its name, typed. */
function DeleteBucket({ ctx, bucket, onDone }: { ctx: Ctx; bucket: string; onDone: () => void }) {
  const [typed, setTyped] = useState("");
  const [recursive, setRecursive] = useState(false);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  async function remove(event: Event): Promise<void> {
    event.preventDefault();
    setBusy(true);
    setError("");
    try {
      await ctx.api.deleteBucket(bucket, recursive);
      onDone();
    } catch (failure) {
      setError(message(failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="delete-title">
      <form onSubmit={(e) => void remove(e)}>
        <h2 id="delete-title">Delete bucket {bucket}</h2>
        <label class="check">
          <input
            type="checkbox"
            checked={recursive}
            onChange={(e) => setRecursive(e.currentTarget.checked)}
          />
          Also delete every object, version and upload in it
        </label>
        <label for="confirm-name">Type the bucket's name to confirm</label>
        <input
          id="confirm-name"
          value={typed}
          autoFocus
          onInput={(e) => setTyped(e.currentTarget.value)}
        />
        <Alert text={error} />
        <div class="buttons">
          <button type="button" onClick={onDone}>
            Cancel
          </button>
          <button type="submit" class="danger" disabled={typed !== bucket || busy}>
            Delete bucket
          </button>
        </div>
      </form>
    </div>
  );
}

/** The Delete control of one row, shown when the gateway would let the caller delete it. */
function DeleteControl({
  ctx,
  bucket,
  onClick,
}: {
  ctx: Ctx;
  bucket: string;
  onClick: () => void;
}) {
  if (!usePermissions(ctx.api, bucket)("s3:DeleteBucket")) return null;
  return (
    <button type="button" class="danger" onClick={onClick}>
      Delete<span class="sr-only"> {bucket}</span>
    </button>
  );
}
