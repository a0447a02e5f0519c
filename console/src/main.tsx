import { render } from "preact";
import { Api } from "./api";
import { App } from "./app";
import { Auth, BASE, type ConsoleConfig } from "./auth";
import { Uploads } from "./uploads";

async function boot(root: HTMLElement): Promise<void> {
  const response = await fetch(`${BASE}config.json`);
  const config = (await response.json()) as ConsoleConfig;
  if (!config.issuer) {
    render(
      <main class="page narrow">
        <h1>Artifact Store</h1>
        <p role="alert">Sign-in is not configured on this gateway (no oidc_issuer).</p>
      </main>,
      root,
    );
    return;
  }
  const auth = new Auth({ ...config, issuer: config.issuer });
  if (window.location.pathname === `${BASE}callback`) {
    const returnTo = await auth.callback();
    window.history.replaceState(null, "", returnTo);
  } else if (auth.wasSignedIn()) {
    await auth.login(window.location.pathname + window.location.search);
    return;
  }
  render(<App auth={auth} api={new Api(auth)} uploads={new Uploads(auth)} />, root);
}

const root = document.getElementById("app");
if (root) {
  boot(root).catch((error: unknown) => {
    render(
      <main class="page narrow">
        <h1>Artifact Store</h1>
        <p role="alert">
          The console could not start: {error instanceof Error ? error.message : String(error)}
        </p>
      </main>,
      root,
    );
  });
}
