import assert from "node:assert/strict";
import { test } from "node:test";
import { OidcSession, deviceLogin, passwordLogin } from "../../src/auth.js";
import { UnauthorizedError } from "../../src/errors.js";

/** A fake token endpoint: answers in order, records each form it got. */
function fakeIssuer(answers: { status: number; body: object }[]) {
  const forms: Record<string, string>[] = [];
  const fake: typeof fetch = (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (url.endsWith("/.well-known/openid-configuration")) {
      return Promise.resolve(
        Response.json({
          token_endpoint: "https://idp/token",
          device_authorization_endpoint: "https://idp/device",
        }),
      );
    }
    forms.push(Object.fromEntries(init?.body as URLSearchParams));
    const next = answers.shift();
    if (!next) throw new Error(`unexpected call to ${url}`);
    return Promise.resolve(Response.json(next.body, { status: next.status }));
  };
  return { fake, forms };
}

test("a session refreshes shortly before its token expires", async () => {
  const { fake, forms } = fakeIssuer([
    { status: 200, body: { access_token: "a2", refresh_token: "r2", expires_in: 2 } },
  ]);
  let now = 0;
  const session = new OidcSession(
    { issuer: "https://idp/refresh-1", clientId: "c", fetch: fake },
    { access_token: "a1", refresh_token: "r1", expires_in: 2 },
    () => now,
  );
  now = 1500;
  assert.equal(await session.token(), "a1");
  now = 1700; // past 2 s - 2 s / 5
  assert.equal(await session.token(), "a2");
  assert.deepEqual(forms, [{ client_id: "c", grant_type: "refresh_token", refresh_token: "r1" }]);
});

test("a refused login is Unauthorized with the OAuth error", async () => {
  const { fake } = fakeIssuer([
    {
      status: 401,
      body: { error: "invalid_grant", error_description: "Invalid user credentials" },
    },
  ]);
  await assert.rejects(
    passwordLogin({
      issuer: "https://idp/pw-1",
      clientId: "c",
      fetch: fake,
      username: "u",
      password: "p",
    }),
    (error: unknown) =>
      error instanceof UnauthorizedError &&
      error.code === "invalid_grant" &&
      error.message === "Invalid user credentials",
  );
});

test("the device flow prompts, then polls past authorization_pending", async () => {
  const { fake, forms } = fakeIssuer([
    {
      status: 200,
      body: {
        device_code: "d",
        user_code: "ABCD-EFGH",
        verification_uri: "https://idp/device",
        expires_in: 60,
        interval: 0,
      },
    },
    { status: 400, body: { error: "authorization_pending" } },
    { status: 200, body: { access_token: "tok", expires_in: 300 } },
  ]);
  const prompts: string[] = [];
  const session = await deviceLogin({
    issuer: "https://idp/device-1",
    clientId: "c",
    fetch: fake,
    onPrompt: (prompt) => {
      prompts.push(prompt.userCode);
    },
  });
  assert.deepEqual(prompts, ["ABCD-EFGH"]);
  assert.equal(await session.token(), "tok");
  assert.equal(forms[1]?.grant_type, "urn:ietf:params:oauth:grant-type:device_code");
  assert.equal(forms.length, 3);
});

test("the device flow stops on a denial", async () => {
  const { fake } = fakeIssuer([
    {
      status: 200,
      body: {
        device_code: "d",
        user_code: "X",
        verification_uri: "u",
        expires_in: 60,
        interval: 0,
      },
    },
    { status: 400, body: { error: "access_denied" } },
  ]);
  await assert.rejects(
    deviceLogin({
      issuer: "https://idp/device-2",
      clientId: "c",
      fetch: fake,
      onPrompt: () => undefined,
    }),
    (error: unknown) => error instanceof UnauthorizedError && error.code === "access_denied",
  );
});
