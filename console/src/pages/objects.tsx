import { useEffect, useState } from "preact/hooks";
import type { Ctx } from "../app";
import { usePermissions } from "../app";
import type { Listing } from "../api";
import { follow, href, navigate } from "../router";
import { Uploads, type UploadItem } from "../uploads";
import { Alert, copy, message, size, useLoad, when } from "../ui";

export function ObjectsPage({ ctx, bucket, prefix }: { ctx: Ctx; bucket: string; prefix: string }) {
  const { api, uploads } = ctx;
  // continuation tokens of the pages before this one: Previous pops, Next pushes
  const [tokens, setTokens] = useState<(string | null)[]>([null]);
  useEffect(() => setTokens([null]), [bucket, prefix]);
  const token = tokens[tokens.length - 1] ?? null;
  const listing = useLoad<Listing>(
    () => api.listObjects(bucket, prefix, token),
    [bucket, prefix, token],
  );
  const [search, setSearch] = useState(prefix);
  useEffect(() => setSearch(prefix), [prefix]);
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");
  const may = usePermissions(api, bucket, { prefix });
  const writer = may("s3:PutObject");
  const deleter = may("s3:DeleteObject");
  useEffect(() => uploads.onFinished(() => listing.reload()), [uploads, listing.reload]);

  async function download(key: string): Promise<void> {
    setError("");
    try {
      const link = document.createElement("a");
      link.href = await api.presign(bucket, key);
      link.download = key.split("/").pop() ?? key;
      document.body.append(link);
      link.click();
      link.remove();
    } catch (failure) {
      setError(message(failure));
    }
  }

  async function remove(key: string): Promise<void> {
    if (!window.confirm(`Delete ${key}?`)) return;
    setError("");
    try {
      await api.deleteObject(bucket, key);
      listing.reload();
    } catch (failure) {
      setError(message(failure));
    }
  }

  async function copyLink(key: string, presigned: boolean): Promise<void> {
    try {
      await copy(presigned ? await api.presign(bucket, key) : `s3://${bucket}/${key}`);
      setNotice(
        presigned
          ? `Presigned link to ${key} copied (valid one hour).`
          : `s3://${bucket}/${key} copied.`,
      );
    } catch (failure) {
      setError(message(failure));
    }
  }

  const crumbs = prefix.split("/").filter(Boolean);
  return (
    <section aria-labelledby="objects-title">
      <nav aria-label="Breadcrumb" class="crumbs">
        <a href={href({ page: "buckets" })} onClick={follow}>
          Buckets
        </a>
        {" / "}
        <a href={href({ page: "objects", bucket, prefix: "" })} onClick={follow}>
          {bucket}
        </a>
        {crumbs.map((part, index) => (
          <span key={index}>
            {" / "}
            <a
              href={href({
                page: "objects",
                bucket,
                prefix: `${crumbs.slice(0, index + 1).join("/")}/`,
              })}
              onClick={follow}
            >
              {part}
            </a>
          </span>
        ))}
      </nav>
      <h1 id="objects-title">
        {bucket}
        {prefix && <span class="muted"> / {prefix}</span>}
      </h1>
      <form
        class="inline"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          navigate(href({ page: "objects", bucket, prefix: search }));
        }}
      >
        <label for="prefix-search">Search by prefix</label>
        <input
          id="prefix-search"
          type="search"
          value={search}
          onInput={(e) => setSearch(e.currentTarget.value)}
        />
        <button type="submit">Search</button>
        <a href={href({ page: "settings", bucket })} onClick={follow}>
          Bucket settings
        </a>
      </form>
      {writer && <UploadZone uploads={uploads} bucket={bucket} prefix={prefix} />}
      <Alert text={error || listing.error} />
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      {listing.loading && <p aria-live="polite">Loading…</p>}
      {listing.data && (
        <>
          {listing.data.prefixes.length + listing.data.objects.length > 0 && (
            <table class="objects">
              <caption class="sr-only">
                Objects and folders under {prefix || "the bucket's top"}
              </caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Size</th>
                  <th scope="col">Modified</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {listing.data.prefixes.map((folder) => (
                  <tr key={folder}>
                    <td>
                      <a href={href({ page: "objects", bucket, prefix: folder })} onClick={follow}>
                        📁 {folder.slice(prefix.length)}
                      </a>
                    </td>
                    <td>—</td>
                    <td>—</td>
                    <td />
                  </tr>
                ))}
                {listing.data.objects.map((object) => {
                  const name = object.key.slice(prefix.length);
                  return (
                    <tr key={object.key}>
                      <td>
                        <a
                          href={href({
                            page: "object",
                            bucket,
                            key: object.key,
                          })}
                          onClick={follow}
                        >
                          {name}
                        </a>
                      </td>
                      <td>{size(object.size)}</td>
                      <td>{when(object.modified)}</td>
                      <td class="actions">
                        <button type="button" onClick={() => void download(object.key)}>
                          Download<span class="sr-only"> {name}</span>
                        </button>
                        <button type="button" onClick={() => void copyLink(object.key, false)}>
                          Copy S3 URI<span class="sr-only"> of {name}</span>
                        </button>
                        <button type="button" onClick={() => void copyLink(object.key, true)}>
                          Copy link<span class="sr-only"> to {name}</span>
                        </button>
                        {deleter && (
                          <button
                            type="button"
                            class="danger"
                            onClick={() => void remove(object.key)}
                          >
                            Delete<span class="sr-only"> {name}</span>
                          </button>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
          {listing.data.prefixes.length + listing.data.objects.length === 0 && (
            <p>Nothing here yet.</p>
          )}
          <div class="pager">
            <button
              type="button"
              disabled={tokens.length < 2}
              onClick={() => setTokens(tokens.slice(0, -1))}
            >
              Previous page
            </button>
            <span>Page {tokens.length}</span>
            <button
              type="button"
              disabled={!listing.data.next}
              onClick={() => listing.data?.next && setTokens([...tokens, listing.data.next])}
            >
              Next page
            </button>
          </div>
        </>
      )}
    </section>
  );
}

function UploadZone({
  uploads,
  bucket,
  prefix,
}: {
  uploads: Uploads;
  bucket: string;
  prefix: string;
}) {
  const [items, setItems] = useState<UploadItem[]>(uploads.items);
  const [over, setOver] = useState(false);
  const [unfinished, setUnfinished] = useState<{ name: string; size: number }[]>([]);
  useEffect(() => uploads.onChange(() => setItems(uploads.items)), [uploads]);
  useEffect(() => {
    void Uploads.unfinished().then(setUnfinished);
  }, [items.length]);

  function add(files: { file: File; path: string }[]): void {
    for (const { file, path } of files) uploads.add(bucket, `${prefix}${path}`, file);
  }

  async function dropped(event: DragEvent): Promise<void> {
    event.preventDefault();
    setOver(false);
    const entries = [...(event.dataTransfer?.items ?? [])]
      .map((item) => item.webkitGetAsEntry())
      .filter((entry): entry is FileSystemEntry => entry !== null);
    const files: { file: File; path: string }[] = [];
    for (const entry of entries) files.push(...(await walk(entry, "")));
    add(files);
  }

  return (
    <div class="uploads">
      <div
        class={over ? "dropzone over" : "dropzone"}
        onDragOver={(event) => {
          event.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(event) => void dropped(event)}
      >
        <p>Drop files or folders here, or</p>
        <label class="button" for="upload-files">
          Upload files
        </label>
        <input
          id="upload-files"
          class="sr-only"
          type="file"
          multiple
          onChange={(event) => {
            const input = event.currentTarget;
            add(
              [...(input.files ?? [])].map((file) => ({
                file,
                path: file.name,
              })),
            );
            input.value = "";
          }}
        />
        <label class="button" for="upload-folder">
          Upload a folder
        </label>
        <input
          id="upload-folder"
          class="sr-only"
          type="file"
          // @ts-expect-error: not in the DOM typings, every browser has it
          webkitdirectory=""
          onChange={(event) => {
            const input = event.currentTarget;
            add(
              [...(input.files ?? [])].map((file) => ({
                file,
                path: file.webkitRelativePath || file.name,
              })),
            );
            input.value = "";
          }}
        />
      </div>
      {unfinished.length > 0 && items.every((item) => item.state === "done") && (
        <p class="notice" role="status" data-testid="unfinished">
          Unfinished uploads from before:{" "}
          {unfinished.map((upload) => `${upload.name} (${size(upload.size)})`).join(", ")}. Pick the
          same files again to resume them.
        </p>
      )}
      {items.length > 0 && (
        <ul class="upload-list" aria-label="Uploads">
          {items.map((item) => (
            <li key={item.id} data-state={item.state}>
              <span class="name">{item.key}</span>
              <progress
                max={item.size || 1}
                value={item.sent}
                aria-label={`Upload of ${item.key}`}
              />
              <span class="status" data-testid="upload-status">
                {item.state === "done"
                  ? "done"
                  : item.state === "failed"
                    ? item.error
                    : `${item.state} ${size(item.sent)} of ${size(item.size)}`}
                {item.resumedFrom > 0 && ` (resumed at ${size(item.resumedFrom)})`}
              </span>
              {item.state === "uploading" && (
                <button type="button" onClick={() => uploads.pause(item)}>
                  Pause<span class="sr-only"> {item.key}</span>
                </button>
              )}
              {(item.state === "paused" || item.state === "failed") && (
                <button type="button" onClick={() => uploads.resume(item)}>
                  Resume<span class="sr-only"> {item.key}</span>
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** The files under a dropped entry, with their paths relative to the drop. */
async function walk(entry: FileSystemEntry, base: string): Promise<{ file: File; path: string }[]> {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => {
      (entry as FileSystemFileEntry).file(resolve, reject);
    });
    return [{ file, path: `${base}${entry.name}` }];
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  const found: { file: File; path: string }[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => {
      reader.readEntries(resolve, reject);
    });
    if (batch.length === 0) break;
    for (const child of batch) found.push(...(await walk(child, `${base}${entry.name}/`)));
  }
  return found;
}
