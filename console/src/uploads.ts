// Resumable uploads with tus-js-client against /_artifacts/uploads (tus 1.0). tus-js-client
// keeps each unfinished upload's URL in localStorage under the file's fingerprint (name, type,
// size, modification time, endpoint): after a reload, picking the same file again resumes it
// from the offset the gateway answers to HEAD, instead of sending it all again.
import * as tus from "tus-js-client";
import type { Auth } from "./auth";

export const ENDPOINT = "/_artifacts/uploads";
const CHUNK = 8 * 1024 * 1024;

export type UploadState = "queued" | "uploading" | "paused" | "done" | "failed";

export interface UploadItem {
  id: number;
  bucket: string;
  key: string;
  size: number;
  sent: number;
  resumedFrom: number;
  state: UploadState;
  error: string;
  upload: tus.Upload;
}

let counter = 0;

export class Uploads {
  items: UploadItem[] = [];
  private listeners = new Set<() => void>();
  private finished = new Set<(item: UploadItem) => void>();

  constructor(private readonly auth: Auth) {}

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onFinished(listener: (item: UploadItem) => void): () => void {
    this.finished.add(listener);
    return () => this.finished.delete(listener);
  }

  private changed(): void {
    this.items = [...this.items];
    for (const listener of this.listeners) listener();
  }

  add(bucket: string, key: string, file: File): UploadItem {
    const upload = new tus.Upload(file, {
      endpoint: ENDPOINT,
      chunkSize: CHUNK,
      retryDelays: [0, 1000, 3000, 5000],
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      metadata: {
        bucket,
        key,
        filename: file.name,
        filetype: file.type || "application/octet-stream",
      },
      onBeforeRequest: async (request) => {
        request.setHeader("Authorization", `Bearer ${await this.auth.token()}`);
      },
      onAfterResponse: (request, response) => {
        // a resumed upload asks the gateway where it stands first (HEAD: Upload-Offset)
        if (request.getMethod() === "HEAD" && response.getStatus() === 200) {
          item.resumedFrom = Number(response.getHeader("Upload-Offset") ?? 0);
          this.changed();
        }
      },
      onProgress: (sent) => {
        item.sent = sent;
        this.changed();
      },
      onSuccess: () => {
        item.state = "done";
        item.sent = item.size;
        this.changed();
        for (const listener of this.finished) listener(item);
      },
      onError: (error) => {
        item.state = "failed";
        item.error = problemText(error);
        this.changed();
      },
    });
    const item: UploadItem = {
      id: ++counter,
      bucket,
      key,
      size: file.size,
      sent: 0,
      resumedFrom: 0,
      state: "queued",
      error: "",
      upload,
    };
    this.items.push(item);
    this.changed();
    void this.start(item);
    return item;
  }

  /** Resume where a previous page left this file, if it did; else start from zero. */
  private async start(item: UploadItem): Promise<void> {
    const previous = await item.upload.findPreviousUploads();
    const last = previous.sort((a, b) => b.creationTime.localeCompare(a.creationTime))[0];
    if (last) item.upload.resumeFromPreviousUpload(last);
    item.state = "uploading";
    this.changed();
    item.upload.start();
  }

  pause(item: UploadItem): void {
    void item.upload.abort();
    item.state = "paused";
    this.changed();
  }

  resume(item: UploadItem): void {
    item.state = "uploading";
    item.upload.start();
    this.changed();
  }

  /** Unfinished uploads a previous page left (to be resumed by picking their files again). */
  static async unfinished(): Promise<{ name: string; size: number }[]> {
    const found = await tus.defaultOptions.urlStorage.findAllUploads().catch(() => []);
    return found.map((upload) => ({
      name: upload.metadata.key ?? upload.metadata.filename ?? "",
      size: upload.size ?? 0,
    }));
  }
}

function problemText(error: Error): string {
  const detailed = error as Error & {
    originalResponse?: { getBody(): string } | null;
  };
  const body = detailed.originalResponse?.getBody();
  if (body) {
    try {
      const problem = JSON.parse(body) as { title?: string; detail?: string };
      if (problem.title) return `${problem.title}: ${problem.detail ?? ""}`;
    } catch {
      /* not a problem document */
    }
  }
  return "The upload failed; it can be resumed.";
}
