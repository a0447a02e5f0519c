// Login with the Keycloak realm the gateway names in config.json: authorization code + PKCE
// with a public client (oidc-client-ts). Tokens live in memory only (never in storage a
// script could read later); the refresh token renews them before they expire. After a page
// reload the app signs in again by redirect, which Keycloak's own session answers at once.
import { InMemoryWebStorage, UserManager, WebStorageStateStore, type User } from "oidc-client-ts";

export interface ConsoleConfig {
  issuer: string | null;
  clientId: string;
}

export const BASE = "/_artifacts/ui/";
const SIGNED_IN = "artifact-store-console.signed-in"; // a flag, no token

export class Auth {
  readonly manager: UserManager;
  private user: User | null = null;
  private listeners = new Set<() => void>();

  constructor(config: ConsoleConfig & { issuer: string }) {
    const origin = window.location.origin;
    this.manager = new UserManager({
      authority: config.issuer,
      client_id: config.clientId,
      redirect_uri: `${origin}${BASE}callback`,
      post_logout_redirect_uri: `${origin}${BASE}`,
      response_type: "code",
      scope: "openid",
      userStore: new WebStorageStateStore({ store: new InMemoryWebStorage() }),
      automaticSilentRenew: true,
    });
    this.manager.events.addUserLoaded((user) => {
      this.user = user;
      this.changed();
    });
    this.manager.events.addUserUnloaded(() => {
      this.user = null;
      this.changed();
    });
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  get current(): User | null {
    return this.user && !this.user.expired ? this.user : null;
  }

  /** The user's name and realm roles, from the access token's claims. */
  get profile(): { name: string; roles: string[]; groups: string[] } {
    const token = this.user?.access_token;
    if (!token) return { name: "", roles: [], groups: [] };
    const claims = decodeClaims(token);
    const realm = claims.realm_access as { roles?: string[] } | undefined;
    return {
      name: [claims.preferred_username, claims.sub].find((v) => typeof v === "string") ?? "",
      roles: realm?.roles ?? [],
      groups: (claims.groups as string[] | undefined) ?? [],
    };
  }

  /** A valid access token, renewed first when it is about to expire. */
  async token(): Promise<string> {
    let user = this.user;
    if (user && (user.expires_in ?? 0) < 20) {
      user = await this.manager.signinSilent();
      this.user = user;
    }
    if (!user) throw new Error("Not signed in.");
    return user.access_token;
  }

  async login(returnTo: string): Promise<void> {
    sessionStorage.setItem(SIGNED_IN, "1");
    await this.manager.signinRedirect({ state: { returnTo } });
  }

  /** Back from Keycloak: the code exchanged for tokens; where the user was going. */
  async callback(): Promise<string> {
    const user = await this.manager.signinRedirectCallback();
    this.user = user;
    this.changed();
    const state = user.state as { returnTo?: string } | undefined;
    return state?.returnTo ?? BASE;
  }

  /** Signed in before this reload: Keycloak's session signs the user in again by redirect. */
  wasSignedIn(): boolean {
    return sessionStorage.getItem(SIGNED_IN) === "1";
  }

  async logout(): Promise<void> {
    sessionStorage.removeItem(SIGNED_IN);
    const idToken = this.user?.id_token;
    this.user = null;
    await this.manager.removeUser();
    await this.manager.signoutRedirect({ id_token_hint: idToken });
  }
}

export function decodeClaims(token: string): Record<string, unknown> {
  const payload = token.split(".")[1] ?? "";
  const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
  return JSON.parse(
    new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))),
  ) as Record<string, unknown>;
}
