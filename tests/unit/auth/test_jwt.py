"""Bearer token verification (gateway/auth/jwt.py) with keys made here and the JWKS served by
an ``httpx.MockTransport`` that counts its requests; the real Keycloak is in
tests/integration/identity."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from gateway.auth.errors import AuthError
from gateway.auth.jwt import (
    ClaimMapping,
    InvalidToken,
    Issuer,
    KeysUnavailable,
    TokenVerifier,
    principal_from_claims,
)

ISSUER = "https://idp.test/realms/artifact-store"
AUDIENCE = "artifact-store"
JWKS_URL = f"{ISSUER}/protocol/openid-connect/certs"
OTHER_ISSUER = "https://idp.test/realms/other-realm"
OTHER_JWKS_URL = f"{OTHER_ISSUER}/protocol/openid-connect/certs"
DROP = object()  # a claim to leave out


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@pytest.fixture(scope="module")
def rsa_private() -> rsa.RSAPrivateKey:
    return rsa_key()


@pytest.fixture(scope="module")
def rsa_other() -> rsa.RSAPrivateKey:
    return rsa_key()


@pytest.fixture(scope="module")
def ec_private() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_jwk(private: Any, kid: str, alg: str | None) -> dict[str, Any]:
    jwk: dict[str, Any]
    if isinstance(private, rsa.RSAPrivateKey):
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    else:
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key()))
    jwk.update(kid=kid, use="sig")
    if alg:
        jwk["alg"] = alg
    return jwk


class Jwks:
    """The issuer's JWKS endpoint: its keys can change; it counts what it serves."""

    def __init__(self, *keys: dict[str, Any]) -> None:
        self.keys = list(keys)
        self.requests = 0
        self.down = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json={"keys": self.keys})


class Router:
    """One MockTransport for several issuers' JWKS URLs."""

    def __init__(self, routes: dict[str, Jwks]) -> None:
        self.routes = routes

    def __call__(self, request: httpx.Request) -> httpx.Response:
        route = self.routes.get(str(request.url))
        return route(request) if route else httpx.Response(404)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def claims(**overrides: object) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": [AUDIENCE, "account"],
        "sub": "8d0c5e2e-alice",
        "iat": now,
        "exp": now + 300,
        "typ": "Bearer",
        "azp": "artifactctl",
        "preferred_username": "alice",
        "realm_access": {"roles": ["artifact-reader", "offline_access"]},
        "groups": ["/buckets/team-a/readers"],
    }
    base.update(overrides)
    return {name: value for name, value in base.items() if value is not DROP}


def sign(private: Any, kid: str | None = "k1", alg: str = "RS256", **overrides: object) -> str:
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(claims(**overrides), private, algorithm=alg, headers=headers)


def with_payload(token: str, **overrides: object) -> str:
    """The same header and signature over other claims (the signature no longer holds)."""
    header, _, signature = token.split(".")
    return ".".join([header, b64(json.dumps(claims(**overrides)).encode()), signature])


def with_header(token: str, **header: object) -> str:
    """The same payload and signature under another header (the signature no longer holds)."""
    _, payload, signature = token.split(".")
    return ".".join([b64(json.dumps(header).encode()), payload, signature])


def make(jwks: Jwks, clock: Clock | None = None, **options: Any) -> tuple[TokenVerifier, Clock]:
    clock = clock or Clock()
    issuers = [Issuer(ISSUER, AUDIENCE, JWKS_URL)]
    verifier = TokenVerifier(
        issuers, transport=httpx.MockTransport(Router({JWKS_URL: jwks})), clock=clock, **options
    )
    return verifier, clock


def refused(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(InvalidToken) as caught:
        asyncio.run(verifier.verify(token))
    return caught.value.reason


@pytest.fixture
def jwks(rsa_private) -> Jwks:
    return Jwks(public_jwk(rsa_private, "k1", "RS256"))


# --- accepted --------------------------------------------------------------------------------


def test_valid_token_verifies_and_maps_to_a_principal(jwks, rsa_private) -> None:
    verifier, _ = make(jwks)
    token = sign(rsa_private)
    assert asyncio.run(verifier.verify(token))["preferred_username"] == "alice"
    principal = asyncio.run(verifier.authenticate(token))
    assert principal.name == "alice"
    assert principal.method == "bearer"
    assert principal.subject == "8d0c5e2e-alice"
    assert principal.roles == {"artifact-reader", "offline_access"}
    assert principal.groups == {"/buckets/team-a/readers"}
    assert jwks.requests == 1  # and the key is cached:
    asyncio.run(verifier.verify(sign(rsa_private)))
    assert jwks.requests == 1


def test_audience_may_be_a_single_string(jwks, rsa_private) -> None:
    verifier, _ = make(jwks)
    assert asyncio.run(verifier.verify(sign(rsa_private, aud=AUDIENCE)))["aud"] == AUDIENCE


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512", "PS256"])
def test_rsa_algorithms(rsa_private, alg: str) -> None:
    """A JWK without "alg" serves every RSA algorithm of the allow-list."""
    verifier, _ = make(Jwks(public_jwk(rsa_private, "k1", None)))
    assert asyncio.run(verifier.verify(sign(rsa_private, alg=alg)))["sub"]


def test_ec_key(ec_private) -> None:
    verifier, _ = make(Jwks(public_jwk(ec_private, "e1", "ES256")))
    assert asyncio.run(verifier.verify(sign(ec_private, kid="e1", alg="ES256")))["sub"]


# --- refused: algorithms and keys -------------------------------------------------------------


def test_alg_none_is_refused_without_fetching_keys(jwks, rsa_private) -> None:
    verifier, _ = make(jwks)
    unsigned = jwt.encode(claims(), "", algorithm="none", headers={"kid": "k1"})
    assert refused(verifier, unsigned) == "algorithm not allowed"
    # and with a real token's signature left on
    assert refused(verifier, with_header(sign(rsa_private), alg="none", kid="k1")) == (
        "algorithm not allowed"
    )
    assert jwks.requests == 0


def test_hs256_signed_with_the_public_key_is_refused(jwks, rsa_private) -> None:
    """The classic key confusion: HMAC keyed with the RSA public key the JWKS publishes."""
    pem = rsa_private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode())
    payload = b64(json.dumps(claims()).encode())
    mac = hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    verifier, _ = make(jwks)
    assert refused(verifier, f"{header}.{payload}.{b64(mac)}") == "algorithm not allowed"
    assert jwks.requests == 0


def test_algorithm_must_fit_the_key(jwks, rsa_private, ec_private) -> None:
    verifier, _ = make(jwks)
    # The JWK says RS256: a PS256 signature by the same key is not accepted under it.
    assert refused(verifier, sign(rsa_private, alg="PS256")) == (
        "algorithm does not match the signing key"
    )
    # An EC signature claiming the RSA key's kid.
    assert refused(verifier, sign(ec_private, kid="k1", alg="ES256")) == (
        "algorithm does not match the signing key"
    )


def test_weak_rsa_key_is_refused() -> None:
    weak = rsa_key(1024)
    verifier, _ = make(Jwks(public_jwk(weak, "k1", "RS256")))
    with pytest.warns(jwt.warnings.InsecureKeyLengthWarning):
        token = sign(weak)
    assert refused(verifier, token) == "unusable signing key"


def test_missing_kid(jwks, rsa_private) -> None:
    verifier, _ = make(jwks)
    assert refused(verifier, sign(rsa_private, kid=None)) == "missing kid"
    assert refused(verifier, with_header(sign(rsa_private), alg="RS256", kid="")) == "missing kid"
    # PyJWT itself refuses a kid that is not a string, while reading the header
    assert refused(verifier, with_header(sign(rsa_private), alg="RS256", kid=7)) == (
        "malformed token"
    )
    assert jwks.requests == 0


def test_crit_header_is_refused(jwks, rsa_private) -> None:
    """Keycloak never sends "crit"; PyJWT would honour "b64", which changes what is signed."""
    token = with_header(sign(rsa_private), alg="RS256", kid="k1", crit=["b64"], b64=True)
    assert refused(make(jwks)[0], token) == "unsupported header"
    token = with_header(sign(rsa_private), alg="RS256", kid="k1", crit=["exp"])
    assert refused(make(jwks)[0], token) == "malformed token"


def test_tampered_payload(jwks, rsa_private) -> None:
    token = with_payload(sign(rsa_private), realm_access={"roles": ["artifact-admin"]})
    assert refused(make(jwks)[0], token) == "bad signature"


def test_tampered_signature(jwks, rsa_private) -> None:
    header, payload, signature = sign(rsa_private).split(".")
    flipped = bytearray(base64.urlsafe_b64decode(signature + "=="))
    flipped[0] ^= 1
    assert refused(make(jwks)[0], f"{header}.{payload}.{b64(bytes(flipped))}") == "bad signature"


def test_signed_by_a_key_the_issuer_does_not_publish(jwks, rsa_other) -> None:
    assert refused(make(jwks)[0], sign(rsa_other, kid="k1")) == "bad signature"


# --- refused: claims --------------------------------------------------------------------------


def test_expired_and_within_leeway(jwks, rsa_private) -> None:
    now = int(time.time())
    verifier, _ = make(jwks)
    expired = sign(rsa_private, iat=now - 400, exp=now - 60)
    assert refused(verifier, expired) == "token expired"
    within = sign(rsa_private, iat=now - 400, exp=now - 10)
    assert asyncio.run(verifier.verify(within))["sub"]
    strict, _ = make(jwks, leeway=0)
    assert refused(strict, within) == "token expired"


def test_not_before_in_the_future(jwks, rsa_private) -> None:
    now = int(time.time())
    verifier, _ = make(jwks)
    assert refused(verifier, sign(rsa_private, nbf=now + 120)) == "token not yet valid"
    assert asyncio.run(verifier.verify(sign(rsa_private, nbf=now + 10)))["sub"]  # leeway


def test_issued_in_the_future(jwks, rsa_private) -> None:
    now = int(time.time())
    token = sign(rsa_private, iat=now + 120, exp=now + 400)
    assert refused(make(jwks)[0], token) == "token not yet valid"


def test_wrong_issuer_is_refused_without_fetching_keys(jwks, rsa_private) -> None:
    verifier, _ = make(jwks)
    assert refused(verifier, sign(rsa_private, iss="https://evil.test/")) == "untrusted issuer"
    assert refused(verifier, with_payload(sign(rsa_private), iss=[ISSUER])) == "untrusted issuer"
    assert refused(verifier, sign(rsa_private, iss=DROP)) == "untrusted issuer"
    assert jwks.requests == 0


@pytest.mark.parametrize("aud", ["account", ["account", "other"], "artifact-store-x"])
def test_wrong_audience(jwks, rsa_private, aud: object) -> None:
    assert refused(make(jwks)[0], sign(rsa_private, aud=aud)) == "wrong audience"


def test_empty_audience_counts_as_missing(jwks, rsa_private) -> None:
    assert refused(make(jwks)[0], sign(rsa_private, aud=[])) == "missing claim aud"


@pytest.mark.parametrize("claim", ["exp", "iat", "aud", "sub"])
def test_required_claims(jwks, rsa_private, claim: str) -> None:
    token = jwt.encode(
        claims(**{claim: DROP}), rsa_private, algorithm="RS256", headers={"kid": "k1"}
    )
    assert refused(make(jwks)[0], token) == f"missing claim {claim}"


def test_reason_never_echoes_the_token(jwks, rsa_private) -> None:
    token = sign(rsa_private, aud="account")
    with pytest.raises(InvalidToken) as caught:
        asyncio.run(make(jwks)[0].verify(token))
    for part in token.split("."):
        assert part not in str(caught.value)
        assert part not in repr(caught.value)


# --- several issuers --------------------------------------------------------------------------


def test_each_issuer_verifies_with_its_own_keys(rsa_private, rsa_other) -> None:
    """A token of another realm, and that realm's key passed off under our issuer's name."""
    ours, theirs = (
        Jwks(public_jwk(rsa_private, "k1", "RS256")),
        Jwks(public_jwk(rsa_other, "o1", "RS256")),
    )
    ci = ClaimMapping(username="sub", roles="none", groups="none")
    verifier = TokenVerifier(
        [
            Issuer(ISSUER, AUDIENCE, JWKS_URL),
            Issuer(OTHER_ISSUER, "sts.artifact-store", OTHER_JWKS_URL, ci),
        ],
        transport=httpx.MockTransport(Router({JWKS_URL: ours, OTHER_JWKS_URL: theirs})),
        clock=Clock(),
    )
    theirs_token = sign(rsa_other, kid="o1", iss=OTHER_ISSUER, aud="sts.artifact-store")
    principal = asyncio.run(verifier.authenticate(theirs_token))
    assert principal.name == "8d0c5e2e-alice"  # mapped by the CI issuer's ClaimMapping
    assert principal.roles == frozenset()
    # The other issuer's key under our issuer's name: not in our JWKS.
    assert refused(verifier, sign(rsa_other, kid="o1")) == "unknown signing key"
    # Our audience is not theirs.
    assert refused(verifier, sign(rsa_other, kid="o1", iss=OTHER_ISSUER)) == "wrong audience"


def test_an_issuer_configured_twice_is_an_error() -> None:
    with pytest.raises(ValueError, match="twice"):
        TokenVerifier([Issuer(ISSUER, "a", JWKS_URL), Issuer(ISSUER, "b", JWKS_URL)])


# --- the JWKS cache ---------------------------------------------------------------------------


def random_kid_tokens(template: str, count: int) -> list[str]:
    return [with_header(template, alg="RS256", kid=uuid.uuid4().hex) for _ in range(count)]


def test_unknown_kid_refetches_once_then_cools_down(jwks, rsa_private) -> None:
    verifier, clock = make(jwks, cooldown=30)
    template = sign(rsa_private)
    asyncio.run(verifier.verify(template))
    assert jwks.requests == 1
    # Within the cool-down of that first fetch: unknown kids cost no request at all.
    for token in random_kid_tokens(template, 50):
        assert refused(verifier, token) == "unknown signing key"
    assert jwks.requests == 1
    clock.now += 31
    flood = random_kid_tokens(template, 1000)

    async def all_of_them() -> list[BaseException | dict[str, Any]]:
        return await asyncio.gather(*(verifier.verify(t) for t in flood), return_exceptions=True)

    results = asyncio.run(all_of_them())
    assert all(isinstance(r, InvalidToken) and r.reason == "unknown signing key" for r in results)
    assert jwks.requests == 2  # one re-fetch for the whole flood
    for token in flood[:100]:  # and sequentially, still within the new cool-down
        refused(verifier, token)
    assert jwks.requests == 2
    asyncio.run(verifier.verify(sign(rsa_private)))  # the known key still works
    assert jwks.requests == 2


def test_key_rotation(jwks, rsa_private, rsa_other) -> None:
    verifier, clock = make(jwks, cooldown=30)
    asyncio.run(verifier.verify(sign(rsa_private)))
    jwks.keys.append(public_jwk(rsa_other, "k2", "RS256"))  # the issuer rotates in k2
    clock.now += 10
    rotated = sign(rsa_other, kid="k2")
    assert refused(verifier, rotated) == "unknown signing key"  # within the cool-down
    clock.now += 25
    assert asyncio.run(verifier.verify(rotated))["sub"]  # re-fetched: k2 is known now
    assert jwks.requests == 2
    # k1 is retired; it keeps verifying until the cached set is re-read (max_age).
    jwks.keys = [public_jwk(rsa_other, "k2", "RS256")]
    asyncio.run(verifier.verify(sign(rsa_private)))
    clock.now += 601
    assert refused(verifier, sign(rsa_private)) == "unknown signing key"
    assert asyncio.run(verifier.verify(rotated))["sub"]
    assert jwks.requests == 3


def test_jwks_down(jwks, rsa_private) -> None:
    jwks.down = True
    verifier, clock = make(jwks, cooldown=30)
    with pytest.raises(KeysUnavailable):
        asyncio.run(verifier.verify(sign(rsa_private)))
    with pytest.raises(KeysUnavailable):  # no retry storm while it is down
        asyncio.run(verifier.verify(sign(rsa_private)))
    assert jwks.requests == 1
    jwks.down = False
    clock.now += 31
    assert asyncio.run(verifier.verify(sign(rsa_private)))["sub"]
    # Down again when the set is due for a re-read: the known keys stay in use.
    jwks.down = True
    clock.now += 601
    assert asyncio.run(verifier.verify(sign(rsa_private)))["sub"]
    assert jwks.requests == 3


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(500),
        httpx.Response(200, content=b"<html>"),
        httpx.Response(200, json=["keys"]),
        httpx.Response(200, json={"keys": "none"}),
        httpx.Response(200, content=b"{" + b" " * (2 * 1024 * 1024) + b"}"),
    ],
)
def test_bad_jwks_documents(rsa_private, response: httpx.Response) -> None:
    verifier = TokenVerifier(
        [Issuer(ISSUER, AUDIENCE, JWKS_URL)], transport=httpx.MockTransport(lambda _: response)
    )
    with pytest.raises(KeysUnavailable):
        asyncio.run(verifier.verify(sign(rsa_private)))


def test_jwks_entries_that_are_not_signature_keys_are_ignored(rsa_private, rsa_other) -> None:
    encryption = public_jwk(rsa_other, "k1", "RSA-OAEP") | {"use": "enc"}
    jwks = Jwks(
        encryption,  # Keycloak publishes one; same kid here to make the point
        {"kty": "oct", "kid": "h1", "k": "c2VjcmV0"},
        {"kty": "RSA"},
        "junk",  # type: ignore[arg-type]
        public_jwk(rsa_private, "k1", "RS256"),
    )
    verifier, _ = make(jwks)
    assert asyncio.run(verifier.verify(sign(rsa_private)))["sub"]
    assert refused(verifier, with_header(sign(rsa_private), alg="RS256", kid="h1")) == (
        "unknown signing key"
    )


# --- adapters for the S3 edge and STS --------------------------------------------------------


def test_bearer_and_web_identity_adapters(jwks, rsa_private) -> None:
    verifier, _ = make(jwks)
    assert asyncio.run(verifier.bearer(sign(rsa_private))).name == "alice"
    with pytest.raises(AuthError) as caught:
        asyncio.run(verifier.bearer(sign(rsa_private, aud="account")))
    assert caught.value.code == "AccessDenied"
    assert "wrong audience" in caught.value.message
    principal, issuer, audience = asyncio.run(verifier.web_identity(sign(rsa_private)))
    assert (principal.name, issuer, audience) == ("alice", ISSUER, AUDIENCE)
    now = int(time.time())
    with pytest.raises(AuthError) as caught:
        asyncio.run(verifier.web_identity(sign(rsa_private, iat=now - 900, exp=now - 600)))
    assert "expired" in caught.value.message


def test_bearer_adapter_when_keys_are_unavailable(jwks, rsa_private) -> None:
    jwks.down = True
    with pytest.raises(AuthError) as caught:
        asyncio.run(make(jwks)[0].bearer(sign(rsa_private)))
    assert caught.value.code == "ServiceUnavailable"


# --- principal mapping ------------------------------------------------------------------------


def test_principal_from_claims_fallbacks() -> None:
    principal = principal_from_claims({"sub": "s-1", "realm_access": "x", "groups": "/g"})
    assert (principal.name, principal.subject) == ("s-1", "s-1")
    assert principal.roles == frozenset()
    assert principal.groups == {"/g"}
    principal = principal_from_claims(
        {"sub": "s", "preferred_username": "", "groups": ["/a", 3, None]}, method="sts"
    )
    assert (principal.name, principal.method, principal.groups) == ("s", "sts", frozenset({"/a"}))
    ci = ClaimMapping(username="repository", roles="x.y", groups="teams")
    principal = principal_from_claims(
        {"sub": "repo:o/r", "repository": "o/r", "teams": ["ops"]}, mapping=ci
    )
    assert (principal.name, principal.groups) == ("o/r", frozenset({"ops"}))


# --- fuzz ------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


def segment(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[str]:
    return strategy.map(lambda value: b64(json.dumps(value).encode()))


FUZZ_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def assert_only_invalid_token(verifier: TokenVerifier, token: Any) -> None:
    try:
        asyncio.run(verifier.verify(token))
    except InvalidToken:
        return
    raise AssertionError("a fuzzed token verified")


@FUZZ_SETTINGS
@given(
    token=st.text(max_size=300)
    | st.binary(max_size=300).map(lambda raw: raw.decode("latin-1"))
    | st.lists(st.text("ABCDEFabcdef0123456789-_=.+/", max_size=60), max_size=5).map(".".join)
)
def test_fuzz_random_strings(jwks, token: str) -> None:
    assert_only_invalid_token(make(jwks)[0], token)


@FUZZ_SETTINGS
@given(
    header=st.fixed_dictionaries(
        {"alg": st.sampled_from(["RS256", "ES256", "PS256", "HS256", "none", ""]) | json_values},
        optional={"kid": st.sampled_from(["k1", ""]) | json_values, "crit": json_values},
    )
    | json_values,
    payload=st.fixed_dictionaries(
        {},
        optional={
            "iss": st.just(ISSUER) | json_values,
            "aud": st.just(AUDIENCE) | json_values,
            "exp": st.integers() | json_values,
            "iat": st.integers() | json_values,
            "nbf": st.integers() | json_values,
            "sub": json_values,
        },
    )
    | json_values,
    signature=st.binary(max_size=300),
)
def test_fuzz_structured_tokens(jwks, header: Any, payload: Any, signature: bytes) -> None:
    token = ".".join(
        [b64(json.dumps(header).encode()), b64(json.dumps(payload).encode()), b64(signature)]
    )
    assert_only_invalid_token(make(jwks)[0], token)


@FUZZ_SETTINGS
@given(token=st.none() | st.integers() | st.binary(max_size=50) | st.just("x" * 70_000))
def test_fuzz_not_even_strings(jwks, token: Any) -> None:
    assert_only_invalid_token(make(jwks)[0], token)


def test_a_verified_token_is_remembered_for_a_minute(jwks, rsa_private, monkeypatch) -> None:
    verifier, clock = make(jwks)
    token = sign(rsa_private)
    checks = []
    real_decode = jwt.decode

    def counting(*args: Any, **kwargs: Any) -> Any:
        checks.append(kwargs.get("options", {}).get("verify_signature", True))
        return real_decode(*args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting)
    asyncio.run(verifier.verify(token))
    verified_once = checks.count(True)
    assert verified_once == 1
    asyncio.run(verifier.verify(token))
    assert checks.count(True) == verified_once  # no second signature check
    clock.now += 61
    asyncio.run(verifier.verify(token))
    assert checks.count(True) == verified_once + 1
    # A different token (even one byte) is checked on its own and refused.
    assert refused(verifier, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))


# --- readiness and metrics ---------------------------------------------------------------------


def refreshes(outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "artifact_store_jwks_refreshes_total", {"issuer": ISSUER, "outcome": outcome}
    )
    return value or 0.0


def test_keys_ready_fetches_the_jwks_once_and_counts_it(jwks) -> None:
    verifier, _ = make(jwks)
    before = refreshes("ok")
    known, detail = asyncio.run(verifier.keys_ready(ISSUER))
    assert known
    assert detail == f"1 signing keys from {JWKS_URL}"
    assert asyncio.run(verifier.keys_ready(ISSUER))[0]
    assert jwks.requests == 1  # known keys are not fetched again for the probe
    assert refreshes("ok") == before + 1


def test_keys_ready_says_why_not_and_retries_after_the_cooldown(jwks) -> None:
    jwks.down = True
    verifier, clock = make(jwks, cooldown=30)
    before = refreshes("failed")
    known, detail = asyncio.run(verifier.keys_ready(ISSUER))
    assert not known
    assert detail.startswith(f"no signing keys: fetching {JWKS_URL} failed: connection refused")
    assert refreshes("failed") == before + 1
    jwks.down = False
    assert not asyncio.run(verifier.keys_ready(ISSUER))[0]  # within the cool-down
    assert jwks.requests == 1
    clock.now += 31
    assert asyncio.run(verifier.keys_ready(ISSUER))[0]
    assert jwks.requests == 2


def test_keys_ready_reports_a_failed_refresh_while_the_old_keys_still_work(jwks) -> None:
    verifier, clock = make(jwks, cooldown=30, max_age=600)
    assert asyncio.run(verifier.keys_ready(ISSUER))[0]
    jwks.down = True
    clock.now += 601  # the set is due to be read again
    known, detail = asyncio.run(verifier.keys_ready(ISSUER))
    assert known
    assert detail.endswith("; the last refresh failed: connection refused")


def test_an_empty_jwks_is_not_ready() -> None:
    verifier, _ = make(Jwks())
    assert asyncio.run(verifier.keys_ready(ISSUER)) == (
        False,
        f"no signing keys published at {JWKS_URL}",
    )
