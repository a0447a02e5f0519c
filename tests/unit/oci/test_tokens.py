"""Registry tokens: scopes parse as the token spec writes them; a token names its caller and
grants; a token signed with another key, for another service, or expired is refused."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st

from gateway.domain.values import Principal
from gateway.oci.tokens import InvalidRegistryToken, RegistryTokens, Scope, parse_scopes

WHO = Principal(
    name="alice",
    method="bearer",
    subject="s-1",
    roles=frozenset({"artifact-reader"}),
    groups=frozenset({"/buckets/team/writers"}),
    policies=('{"Version":"2012-10-17","Statement":[]}',),
)


def test_scopes_as_clients_send_them() -> None:
    assert parse_scopes(["repository:team/app:pull,push"]) == [
        Scope("repository", "team/app", frozenset({"pull", "push"}))
    ]
    assert parse_scopes(["repository:a:pull repository:b:push", "registry:catalog:*"]) == [
        Scope("repository", "a", frozenset({"pull"})),
        Scope("repository", "b", frozenset({"push"})),
        Scope("registry", "catalog", frozenset({"*"})),
    ]
    assert parse_scopes(["repository(plugin):x:pull"]) == [
        Scope("repository", "x", frozenset({"pull"}))
    ]
    assert parse_scopes(["nonsense", "repository::pull", "repository:x:"]) == []


@given(st.lists(st.text(max_size=40), max_size=5))
def test_any_scope_text_parses_or_is_ignored(values: list[str]) -> None:
    for scope in parse_scopes(values):
        assert scope.type
        assert scope.name
        assert scope.actions
        assert all(action and "," not in action for action in scope.actions)


def test_a_token_carries_its_caller_and_grants() -> None:
    tokens = RegistryTokens(b"k" * 32, "svc", 300)
    token = tokens.issue(WHO, [Scope("repository", "team/app", frozenset({"pull"}))])
    assert RegistryTokens.is_ours(token)
    grant = tokens.verify(token)
    assert grant.principal == WHO
    assert grant.covers("repository", "team/app", "pull")
    assert not grant.covers("repository", "team/app", "push")
    assert not grant.covers("repository", "team/other", "pull")


def test_a_wildcard_grant_covers_every_action() -> None:
    tokens = RegistryTokens(b"k" * 32, "svc", 300)
    grant = tokens.verify(tokens.issue(WHO, [Scope("registry", "catalog", frozenset({"*"}))]))
    assert grant.covers("registry", "catalog", "*")
    assert grant.covers("registry", "catalog", "pull")


@pytest.mark.parametrize(
    "other",
    [RegistryTokens(b"x" * 32, "svc", 300), RegistryTokens(b"k" * 32, "another", 300)],
    ids=["other-key", "other-service"],
)
def test_a_token_of_another_key_or_service_is_refused(other: RegistryTokens) -> None:
    ours = RegistryTokens(b"k" * 32, "svc", 300)
    with pytest.raises(InvalidRegistryToken):
        ours.verify(other.issue(WHO, []))


def test_an_expired_token_is_refused() -> None:
    tokens = RegistryTokens(b"k" * 32, "svc", 300)
    old = tokens.issue(WHO, [], now=1_000_000)
    with pytest.raises(InvalidRegistryToken, match="expired"):
        tokens.verify(old)


def test_an_unsigned_token_is_refused() -> None:
    tokens = RegistryTokens(b"k" * 32, "svc", 300)
    claims = jwt.decode(tokens.issue(WHO, []), options={"verify_signature": False})
    forged = jwt.encode(claims, key=None, algorithm="none")  # type: ignore[arg-type]
    assert not RegistryTokens.is_ours(forged)  # and Keycloak's verifier refuses "none"
    with pytest.raises(InvalidRegistryToken):
        tokens.verify(forged)


def test_keycloak_tokens_are_not_ours() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    other = jwt.encode({"iss": "http://kc/realms/x", "sub": "a"}, key, algorithm="ES256")
    assert not RegistryTokens.is_ours(other)
    assert not RegistryTokens.is_ours("not a jwt")


def test_a_verified_token_is_remembered_until_it_expires() -> None:
    tokens = RegistryTokens(b"k" * 32, "svc", 300)
    token = tokens.issue(WHO, [Scope("repository", "a", frozenset({"pull"}))])
    assert tokens.verify(token) is tokens.verify(token)
    short = RegistryTokens(b"k" * 32, "svc", -10)  # expired when issued
    with pytest.raises(InvalidRegistryToken, match="expired"):
        short.verify(short.issue(WHO, []))


@given(st.text(max_size=200))
def test_any_bearer_text_is_told_ours_or_not_without_failing(text: str) -> None:
    assert RegistryTokens.is_ours(text) in (True, False)
