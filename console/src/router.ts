// Client routes under /_artifacts/ui/ (the gateway answers index.html for each of them):
//   /                         buckets
//   /b/<bucket>?prefix=...    the bucket's objects under a prefix
//   /b/<bucket>/o/<key>       one object: metadata, signatures, SBOM, attestations, verdict
//   /b/<bucket>/settings      policy, trust, require-signature
//   /admin                    access keys, audit log
import { useEffect, useState } from "preact/hooks";
import { BASE } from "./auth";

export type Route =
  | { page: "buckets" }
  | { page: "objects"; bucket: string; prefix: string }
  | { page: "object"; bucket: string; key: string }
  | { page: "settings"; bucket: string }
  | { page: "admin" };

export function parse(pathname: string, search: string): Route {
  const rest = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : "";
  const parts = rest.split("/").map(decodeURIComponent);
  if (parts[0] === "b" && parts[1]) {
    const bucket = parts[1];
    if (parts[2] === "o" && parts.length > 3)
      return { page: "object", bucket, key: parts.slice(3).join("/") };
    if (parts[2] === "settings") return { page: "settings", bucket };
    return {
      page: "objects",
      bucket,
      prefix: new URLSearchParams(search).get("prefix") ?? "",
    };
  }
  if (parts[0] === "admin") return { page: "admin" };
  return { page: "buckets" };
}

export function href(route: Route): string {
  const enc = encodeURIComponent;
  switch (route.page) {
    case "buckets":
      return BASE;
    case "objects":
      return `${BASE}b/${enc(route.bucket)}${route.prefix ? `?prefix=${enc(route.prefix)}` : ""}`;
    case "object":
      return `${BASE}b/${enc(route.bucket)}/o/${route.key.split("/").map(enc).join("/")}`;
    case "settings":
      return `${BASE}b/${enc(route.bucket)}/settings`;
    case "admin":
      return `${BASE}admin`;
  }
}

export function navigate(to: string): void {
  window.history.pushState(null, "", to);
  window.dispatchEvent(new PopStateEvent("popstate"));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(window.location.pathname, window.location.search));
  useEffect(() => {
    const changed = (): void => setRoute(parse(window.location.pathname, window.location.search));
    window.addEventListener("popstate", changed);
    return () => window.removeEventListener("popstate", changed);
  }, []);
  return route;
}

/** A link that the app follows itself (the page is not reloaded). */
export function follow(event: MouseEvent): void {
  const anchor = event.currentTarget as HTMLAnchorElement;
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  event.preventDefault();
  navigate(anchor.getAttribute("href") ?? BASE);
}
