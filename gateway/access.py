"""One place that decides a request, for the S3 edge and the JSON API alike: it loads the
bucket's policy (compiled once per policy text) and asks ``policy.decide``."""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from datetime import UTC, datetime

from gateway.domain.buckets import POLICY_SETTING, get_bucket
from gateway.domain.errors import NoSuchBucket
from gateway.domain.store import Store
from gateway.domain.values import Principal
from gateway.observability import metrics
from gateway.policy.conditions import ContextValues
from gateway.policy.decide import AccessContext, Decision, decide
from gateway.policy.document import Policy, parse_bucket_policy
from gateway.policy.errors import MalformedPolicy

log = logging.getLogger("gateway.access")
LISTING = "s3:ListBucket"
MAX_COMPILED = 1000


class Authorizer:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._policies: dict[tuple[str, str], Policy] = {}

    async def decide(
        self,
        principal: Principal,
        action: str,
        bucket: str,
        key: str,
        *,
        source_ip: str | None,
        secure: bool,
        condition_keys: Mapping[str, ContextValues] | None = None,
    ) -> Decision:
        context = AccessContext(
            now=datetime.now(UTC),
            source_ip=source_ip,
            secure_transport=secure,
            condition_keys=condition_keys or {},
        )
        policy = None if principal.root else await self.bucket_policy(bucket)
        decision = decide(principal, action, bucket or None, key or None, context, policy)
        outcome = "allow" if decision.allowed else "deny"
        metrics.child(metrics.AUTHZ_DECISIONS, action, outcome, basis(decision.rule)).inc()
        return decision

    async def may_learn_missing_keys(
        self, principal: Principal, bucket: str, *, source_ip: str | None, secure: bool
    ) -> bool:
        """Whether a missing key may be told as such: to callers who may list the bucket, as
        S3 does (to others it is AccessDenied like a refusal). The S3 edge and the JSON API
        both ask here."""
        if principal.root:
            return True
        listing = await self.decide(
            principal, LISTING, bucket, "", source_ip=source_ip, secure=secure
        )
        return listing.allowed

    async def policy_mentions(
        self, principal: Principal, bucket: str, words: tuple[str, ...]
    ) -> set[str]:
        """Which of ``words`` (lower case) the policies deciding this caller's request name,
        so that costly condition keys (an object's current tags) are looked up only for
        policies that test them."""
        if principal.root:
            return set()
        texts = list(principal.policies)
        if bucket:
            try:
                record = await get_bucket(self.store, bucket)
            except NoSuchBucket:
                record = None
            if record is not None:
                texts.append(record.settings.get(POLICY_SETTING, ""))
        return {word for text in texts for word in _named(text, words)}

    async def bucket_policy(self, bucket: str) -> Policy | None:
        """The bucket's compiled policy (compiled once per policy text), if it has one."""
        if not bucket:
            return None
        try:
            record = await get_bucket(self.store, bucket)
        except NoSuchBucket:
            return None
        text = record.settings.get(POLICY_SETTING)
        if not text:
            return None
        compiled = self._policies.get((bucket, text))
        if compiled is None:
            try:
                compiled = parse_bucket_policy(text, bucket)
            except MalformedPolicy:
                log.error("bucket %s has a stored policy that does not parse", bucket)
                return None
            if len(self._policies) > MAX_COMPILED:
                self._policies.clear()
            self._policies[(bucket, text)] = compiled
        return compiled


@functools.lru_cache(maxsize=256)
def _named(text: str, words: tuple[str, ...]) -> frozenset[str]:
    """Which of ``words`` a policy text names: once per text, not on every request."""
    lowered = text.lower()
    return frozenset(word for word in words if word in lowered)


def basis(rule: str) -> str:
    """What kind of rule decided, without the names in it (a metric label): ``role``,
    ``bucket-policy``, ``default-deny``; a refusal's ``deny:<kind>:...`` gives ``<kind>``."""
    kind, _, rest = rule.partition(":")
    return rest.partition(":")[0] if kind == "deny" else kind
