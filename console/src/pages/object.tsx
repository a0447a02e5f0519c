import { useMemo, useState } from "preact/hooks";
import type { Ctx } from "../app";
import { usePermissions } from "../app";
import type { SignatureInfo } from "../api";
import { components, sbomMediaType, statement, type Component, type Statement } from "../documents";
import { follow, href } from "../router";
import { Alert, message, size, useLoad, when } from "../ui";

export function ObjectPage({
  ctx,
  bucket,
  objectKey,
}: {
  ctx: Ctx;
  bucket: string;
  objectKey: string;
}) {
  const { api } = ctx;
  const may = usePermissions(api, bucket, { key: objectKey });
  const head = useLoad(() => api.headObject(bucket, objectKey), [bucket, objectKey]);
  const verdict = useLoad(() => api.verdict(bucket, objectKey), [bucket, objectKey]);
  const documents = useLoad(async () => {
    const referrers = await api.referrers(bucket, objectKey);
    const sboms: { digest: string; components: Component[] }[] = [];
    const attestations: { digest: string; statement: Statement | null }[] = [];
    for (const referrer of referrers) {
      if (referrer.kind === "sbom") {
        sboms.push({
          digest: referrer.digest,
          components: components(await api.referrerDocument(bucket, objectKey, referrer.digest)),
        });
      } else if (referrer.kind === "attestation") {
        attestations.push({
          digest: referrer.digest,
          statement: statement(await api.referrerDocument(bucket, objectKey, referrer.digest)),
        });
      }
    }
    return { referrers, sboms, attestations };
  }, [bucket, objectKey]);
  const reload = (): void => {
    verdict.reload();
    documents.reload();
  };
  const folder = objectKey.includes("/") ? objectKey.slice(0, objectKey.lastIndexOf("/") + 1) : "";
  const v = verdict.data;
  const overall = v ? (v.signed ? "pass" : v.require_signature ? "fail" : "unsigned") : null;

  return (
    <section aria-labelledby="object-title">
      <nav aria-label="Breadcrumb" class="crumbs">
        <a href={href({ page: "buckets" })} onClick={follow}>
          Buckets
        </a>
        {" / "}
        <a href={href({ page: "objects", bucket, prefix: folder })} onClick={follow}>
          {bucket}
          {folder && ` / ${folder}`}
        </a>
      </nav>
      <h1 id="object-title">{objectKey.slice(folder.length)}</h1>

      <h2>Verdict</h2>
      <Alert text={verdict.error} />
      {v && overall && (
        <div class={`verdict ${overall}`} data-testid="verdict" data-verdict={overall}>
          <strong>
            {overall === "pass" && "Signed by a trusted signer"}
            {overall === "fail" &&
              "Would not be handed out: the bucket requires a trusted signature"}
            {overall === "unsigned" && "Not signed by a trusted signer"}
          </strong>
          {v.reason && <p>Why: {v.reason}</p>}
          <p>
            SBOM: {v.sbom_valid ? "present and valid" : "none valid"} · Require signature:{" "}
            {v.require_signature ? "on" : "off"} · Checked {when(v.checked)}
          </p>
        </div>
      )}

      <h2>Metadata</h2>
      <Alert text={head.error} />
      {head.data && (
        <dl class="meta">
          <dt>Size</dt>
          <dd>{size(head.data.size)}</dd>
          <dt>Content type</dt>
          <dd>{head.data.contentType}</dd>
          <dt>Modified</dt>
          <dd>{head.data.modified}</dd>
          <dt>ETag</dt>
          <dd>
            <code>{head.data.etag}</code>
          </dd>
          {v?.sha256 && (
            <>
              <dt>SHA-256</dt>
              <dd>
                <code data-testid="sha256">{v.sha256}</code>
              </dd>
            </>
          )}
          {Object.entries(head.data.checksums).map(([name, value]) => (
            <>
              <dt>Checksum {name.toUpperCase()}</dt>
              <dd>
                <code>{value}</code>
              </dd>
            </>
          ))}
          {v && (
            <>
              <dt>OCI manifest</dt>
              <dd>
                <code>{v.manifest_digest}</code>
              </dd>
            </>
          )}
          {Object.entries(head.data.metadata).map(([name, value]) => (
            <>
              <dt>{name}</dt>
              <dd>{value}</dd>
            </>
          ))}
        </dl>
      )}

      <h2>Signatures</h2>
      {v && v.signatures.length === 0 && <p>No signatures.</p>}
      {v && v.signatures.length > 0 && <Signatures items={v.signatures} />}

      <h2>SBOM</h2>
      <Alert text={documents.error} />
      {documents.data && documents.data.sboms.length === 0 && <p>No SBOM attached.</p>}
      {documents.data?.sboms.map((sbom) => (
        <ComponentsTable key={sbom.digest} items={sbom.components} />
      ))}

      <h2>Attestations</h2>
      {documents.data && documents.data.attestations.length === 0 && <p>No attestations.</p>}
      {documents.data?.attestations.map(({ digest, statement: found }) => {
        const checked = v?.attestations.find((item) => item.digest === digest);
        return (
          <div class="card" key={digest} data-testid="attestation">
            <p>
              <strong>
                {found?.predicateType ?? checked?.predicate_type ?? "unknown predicate"}
              </strong>{" "}
              {checked && (
                <Badge ok={checked.verified && checked.trusted} reason={checked.reason} />
              )}
            </p>
            {found?.builder && <p>Builder: {found.builder}</p>}
            {found && found.materials.length > 0 && (
              <table>
                <caption>Materials</caption>
                <thead>
                  <tr>
                    <th scope="col">URI</th>
                    <th scope="col">Digest</th>
                  </tr>
                </thead>
                <tbody>
                  {found.materials.map((material) => (
                    <tr key={material.uri}>
                      <td>{material.uri}</td>
                      <td>
                        <code>{material.digest}</code>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
        );
      })}

      {may("s3:PutObjectReferrer") && (
        <Attach ctx={ctx} bucket={bucket} objectKey={objectKey} onDone={reload} />
      )}
    </section>
  );
}

function Badge({ ok, reason }: { ok: boolean; reason?: string | null }) {
  return (
    <span class={ok ? "badge ok" : "badge bad"}>
      {ok ? "verified" : `not counted${reason ? `: ${reason}` : ""}`}
    </span>
  );
}

function Signatures({ items }: { items: SignatureInfo[] }) {
  return (
    <table data-testid="signatures">
      <caption class="sr-only">Signatures</caption>
      <thead>
        <tr>
          <th scope="col">Signer</th>
          <th scope="col">Covers</th>
          <th scope="col">Verdict</th>
        </tr>
      </thead>
      <tbody>
        {items.map((item) => (
          <tr key={item.digest}>
            <td>
              {item.signer
                ? item.signer.kind === "keyless"
                  ? `${item.signer.subject ?? ""} (${item.signer.issuer ?? ""})`
                  : `${item.signer.kind} ${item.signer.name ?? ""}`
                : "unknown signer"}
            </td>
            <td>{item.covers ?? "—"}</td>
            <td>
              <Badge ok={item.verified && item.trusted} reason={item.reason} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ComponentsTable({ items }: { items: Component[] }) {
  const [query, setQuery] = useState("");
  const shown = useMemo(() => {
    const needle = query.toLowerCase();
    return items.filter((item) =>
      [item.name, item.version, item.purl, item.licence].some((value) =>
        value.toLowerCase().includes(needle),
      ),
    );
  }, [items, query]);
  return (
    <div class="card">
      <label for="sbom-search">Search components</label>{" "}
      <input
        id="sbom-search"
        type="search"
        value={query}
        onInput={(e) => setQuery(e.currentTarget.value)}
      />
      <p aria-live="polite">
        {shown.length} of {items.length} components
      </p>
      <table data-testid="sbom">
        <caption class="sr-only">SBOM components</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Version</th>
            <th scope="col">purl</th>
            <th scope="col">Licence</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((item, index) => (
            <tr key={`${item.purl}-${index}`}>
              <td>{item.name}</td>
              <td>{item.version}</td>
              <td>
                <code>{item.purl}</code>
              </td>
              <td>{item.licence}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Attach({
  ctx,
  bucket,
  objectKey,
  onDone,
}: {
  ctx: Ctx;
  bucket: string;
  objectKey: string;
  onDone: () => void;
}) {
  const [kind, setKind] = useState("sbom");
  const [error, setError] = useState("");
  const [done, setDone] = useState("");

  async function submit(event: Event): Promise<void> {
    event.preventDefault();
    setError("");
    setDone("");
    const input = (event.currentTarget as HTMLFormElement).elements.namedItem(
      "attach-file",
    ) as HTMLInputElement;
    const file = input.files?.[0];
    if (!file) {
      setError("Choose a file to attach.");
      return;
    }
    const media = kind === "sbom" ? sbomMediaType(await file.text()) : "application/json";
    try {
      await ctx.api.attach(bucket, objectKey, kind, file, media);
      setDone(`Attached ${file.name} as ${kind}.`);
      input.value = "";
      onDone();
    } catch (failure) {
      setError(message(failure));
    }
  }

  return (
    <form class="card" onSubmit={(e) => void submit(e)}>
      <h2>Attach a document</h2>
      <label for="attach-kind">Kind</label>
      <select id="attach-kind" value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
        <option value="sbom">SBOM (CycloneDX or SPDX JSON)</option>
        <option value="signature">Signature (sigstore bundle)</option>
        <option value="attestation">Attestation (DSSE envelope)</option>
      </select>
      <label for="attach-file">File</label>
      <input id="attach-file" name="attach-file" type="file" accept=".json,application/json" />
      <button class="primary" type="submit">
        Attach
      </button>
      <Alert text={error} />
      {done && (
        <p class="notice" role="status">
          {done}
        </p>
      )}
    </form>
  );
}
