import { useEffect, useState } from "preact/hooks";
import type { Api, Permissions } from "./api";
import type { Auth } from "./auth";
import { BASE } from "./auth";
import { AdminPage } from "./pages/admin";
import { BucketsPage } from "./pages/buckets";
import { ObjectPage } from "./pages/object";
import { ObjectsPage } from "./pages/objects";
import { SettingsPage } from "./pages/settings";
import { follow, href, useRoute } from "./router";
import type { Uploads } from "./uploads";

export interface Ctx {
  api: Api;
  auth: Auth;
  uploads: Uploads;
}

const THEME = "artifact-store-console.theme";

export function App({ auth, api, uploads }: Ctx) {
  const [, setVersion] = useState(0);
  useEffect(() => auth.onChange(() => setVersion((v) => v + 1)), [auth]);
  const [theme, setTheme] = useState(() => localStorage.getItem(THEME) ?? "auto");
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem(THEME, theme);
  }, [theme]);
  const route = useRoute();
  const user = auth.current;
  if (!user) {
    return (
      <main class="page narrow" id="main">
        <h1>Artifact Store</h1>
        <p>
          Browse buckets and objects, upload and download, and see each artifact's signatures, SBOM
          and verdict.
        </p>
        <button
          class="primary"
          type="button"
          onClick={() => void auth.login(window.location.pathname + window.location.search)}
        >
          Sign in
        </button>
      </main>
    );
  }
  const ctx = { auth, api, uploads };
  const profile = auth.profile;
  const admin = profile.roles.includes("artifact-admin");
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <nav aria-label="Main">
          <a class="brand" href={BASE} onClick={follow}>
            Artifact Store
          </a>
          <a
            href={href({ page: "buckets" })}
            onClick={follow}
            aria-current={route.page === "buckets" ? "page" : undefined}
          >
            Buckets
          </a>
          {admin && (
            <a
              href={href({ page: "admin" })}
              onClick={follow}
              aria-current={route.page === "admin" ? "page" : undefined}
            >
              Admin
            </a>
          )}
        </nav>
        <div class="who">
          <label>
            Theme{" "}
            <select value={theme} onChange={(e) => setTheme(e.currentTarget.value)}>
              <option value="auto">System</option>
              <option value="light">Light</option>
              <option value="dark">Dark</option>
            </select>
          </label>
          <span data-testid="username">{profile.name}</span>
          <button type="button" onClick={() => void auth.logout()}>
            Sign out
          </button>
        </div>
      </header>
      <main class="page" id="main" tabIndex={-1}>
        {route.page === "buckets" && <BucketsPage ctx={ctx} />}
        {route.page === "objects" && (
          <ObjectsPage ctx={ctx} bucket={route.bucket} prefix={route.prefix} />
        )}
        {route.page === "object" && (
          <ObjectPage ctx={ctx} bucket={route.bucket} objectKey={route.key} />
        )}
        {route.page === "settings" && <SettingsPage ctx={ctx} bucket={route.bucket} />}
        {route.page === "admin" && <AdminPage ctx={ctx} />}
      </main>
    </>
  );
}

/** What the token's roles and groups say the user may do, for controls not tied to one
 * bucket (creating buckets, the Admin page). In a bucket the console asks the gateway
 * (usePermissions), which decides with the bucket policy too. */
export function mayWrite(auth: Auth, bucket: string): boolean {
  const { roles, groups } = auth.profile;
  return (
    roles.includes("artifact-writer") ||
    roles.includes("artifact-admin") ||
    groups.includes(`/buckets/${bucket}/writers`) ||
    groups.includes(`/buckets/${bucket}/admins`)
  );
}

export function isAdmin(auth: Auth): boolean {
  return auth.profile.roles.includes("artifact-admin");
}

/** What the gateway says the caller may do in the bucket (under ``prefix`` or on ``key``):
 * the same decision as the requests themselves, bucket policies included. While it loads, or
 * if it fails, nothing is allowed (the controls stay hidden). */
export function usePermissions(
  api: Api,
  bucket: string,
  where: { prefix?: string; key?: string } = {},
): (action: string) => boolean {
  const [actions, setActions] = useState<Permissions>({});
  const { prefix = "", key = "" } = where;
  useEffect(() => {
    let live = true;
    setActions({});
    api
      .permissions(bucket, { prefix, key })
      .then((answer) => {
        if (live) setActions(answer);
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [api, bucket, prefix, key]);
  return (action: string) => actions[action] === true;
}
