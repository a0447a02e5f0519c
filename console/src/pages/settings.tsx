import { useEffect, useState } from "preact/hooks";
import type { Ctx } from "../app";
import { usePermissions } from "../app";
import { ApiError } from "../api";
import { follow, href } from "../router";
import { Alert, message, useLoad } from "../ui";

interface Trust {
  require_signature: boolean;
  receipts: boolean;
  keys: { name: string; public_key: string }[];
  identities: { issuer: string; subject: string; subject_regex?: boolean }[];
  [field: string]: unknown;
}

const NO_TRUST: Trust = {
  require_signature: false,
  receipts: false,
  keys: [],
  identities: [],
};

export function SettingsPage({ ctx, bucket }: { ctx: Ctx; bucket: string }) {
  return (
    <section aria-labelledby="settings-title">
      <nav aria-label="Breadcrumb" class="crumbs">
        <a href={href({ page: "buckets" })} onClick={follow}>
          Buckets
        </a>
        {" / "}
        <a href={href({ page: "objects", bucket, prefix: "" })} onClick={follow}>
          {bucket}
        </a>
      </nav>
      <h1 id="settings-title">Settings of {bucket}</h1>
      <PolicyEditor ctx={ctx} bucket={bucket} />
      <TrustEditor ctx={ctx} bucket={bucket} />
    </section>
  );
}

function PolicyEditor({ ctx, bucket }: { ctx: Ctx; bucket: string }) {
  const policy = useLoad(() => ctx.api.getPolicy(bucket), [bucket]);
  const status = useLoad(() => ctx.api.isPublic(bucket), [bucket]);
  const may = usePermissions(ctx.api, bucket);
  const [text, setText] = useState("");
  const [error, setError] = useState("");
  const [saved, setSaved] = useState("");
  useEffect(() => {
    if (policy.data !== undefined) setText(policy.data ? pretty(policy.data) : "");
  }, [policy.data]);

  async function save(event: Event): Promise<void> {
    event.preventDefault();
    setError("");
    setSaved("");
    try {
      if (text.trim()) {
        JSON.parse(text); // the browser's own message for what is not JSON at all
        await ctx.api.putPolicy(bucket, text);
      } else {
        await ctx.api.deletePolicy(bucket);
      }
      setSaved("Policy saved.");
      status.reload();
    } catch (failure) {
      setError(failure instanceof SyntaxError ? `Not JSON: ${failure.message}` : message(failure));
    }
  }

  return (
    <form class="card" onSubmit={(e) => void save(e)}>
      <h2>
        Bucket policy{" "}
        {status.data !== undefined && (
          <span class={status.data ? "badge warn" : "badge"}>
            {status.data ? "public" : "private"}
          </span>
        )}
      </h2>
      <Alert text={policy.error} />
      <label for="policy-text">Policy JSON (empty: no policy)</label>
      <textarea
        id="policy-text"
        rows={12}
        spellcheck={false}
        value={text}
        readOnly={policy.loading}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={error ? "policy-error" : undefined}
        onInput={(e) => setText(e.currentTarget.value)}
      />
      {error && (
        <p class="alert" role="alert" id="policy-error">
          {error}
        </p>
      )}
      {saved && (
        <p class="notice" role="status">
          {saved}
        </p>
      )}
      {may("s3:PutBucketPolicy") && (
        <button class="primary" type="submit">
          Save policy
        </button>
      )}
    </form>
  );
}

function TrustEditor({ ctx, bucket }: { ctx: Ctx; bucket: string }) {
  const trust = useLoad<Trust>(async () => {
    try {
      return {
        ...NO_TRUST,
        ...((await ctx.api.trust(bucket)) as Partial<Trust>),
      };
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 404) return NO_TRUST;
      throw failure;
    }
  }, [bucket]);
  const [draft, setDraft] = useState<Trust>(NO_TRUST);
  const [signers, setSigners] = useState("");
  const [error, setError] = useState("");
  const [saved, setSaved] = useState("");
  const admin = usePermissions(ctx.api, bucket)("s3:PutBucketTrust");
  useEffect(() => {
    if (trust.data) {
      setDraft(trust.data);
      setSigners(
        JSON.stringify({ keys: trust.data.keys, identities: trust.data.identities }, null, 2),
      );
    }
  }, [trust.data]);

  async function save(event: Event): Promise<void> {
    event.preventDefault();
    setError("");
    setSaved("");
    try {
      const parsed = JSON.parse(signers || "{}") as Partial<Trust>;
      await ctx.api.putTrust(bucket, {
        ...draft,
        keys: parsed.keys ?? [],
        identities: parsed.identities ?? [],
      });
      setSaved("Trust saved.");
      trust.reload();
    } catch (failure) {
      setError(failure instanceof SyntaxError ? `Not JSON: ${failure.message}` : message(failure));
    }
  }

  return (
    <form class="card" onSubmit={(e) => void save(e)}>
      <h2>Trust and verification</h2>
      <Alert text={trust.error} />
      <label class="check">
        <input
          type="checkbox"
          checked={draft.require_signature}
          disabled={!admin || trust.loading}
          onChange={(e) =>
            setDraft({
              ...draft,
              require_signature: e.currentTarget.checked,
            })
          }
        />
        Require a trusted signature to download
      </label>
      <label class="check">
        <input
          type="checkbox"
          checked={draft.receipts}
          disabled={!admin || trust.loading}
          onChange={(e) =>
            setDraft({
              ...draft,
              receipts: e.currentTarget.checked,
            })
          }
        />
        The gateway signs each stored object (receipts)
      </label>
      <label for="trust-signers">Trusted keys and keyless identities (JSON)</label>
      <textarea
        id="trust-signers"
        rows={10}
        spellcheck={false}
        value={signers}
        readOnly={!admin || trust.loading}
        aria-describedby={error ? "trust-error" : undefined}
        onInput={(e) => setSigners(e.currentTarget.value)}
      />
      {error && (
        <p class="alert" role="alert" id="trust-error">
          {error}
        </p>
      )}
      {saved && (
        <p class="notice" role="status">
          {saved}
        </p>
      )}
      {admin && (
        <button class="primary" type="submit">
          Save trust
        </button>
      )}
    </form>
  );
}

function pretty(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
