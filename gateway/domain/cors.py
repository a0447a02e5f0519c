"""A bucket's CORS configuration: its rules, kept as JSON in the bucket's settings (so in the
bucket's record manifest, and ``reindex`` brings it back), and which rule answers a request.

https://docs.aws.amazon.com/AmazonS3/latest/API/API_CORSRule.html
https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html (how a rule is chosen)
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from functools import cache

from gateway.domain import buckets
from gateway.domain.errors import InvalidRequest
from gateway.domain.store import Store
from gateway.domain.values import BucketRecord

CORS_SETTING = "cors"  # the rules as a JSON list, in the bucket's settings
METHODS = ("GET", "PUT", "HEAD", "POST", "DELETE")
MAX_RULES = 100
ONE_WILDCARD = "can not have more than one wildcard."


@dataclass(frozen=True)
class CorsRule:
    allowed_methods: tuple[str, ...]
    allowed_origins: tuple[str, ...]
    allowed_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age_seconds: int | None = None
    id: str | None = None

    def allows(self, origin: str, method: str, headers: tuple[str, ...]) -> bool:
        """The rule matches when one origin pattern matches the whole origin, the method is
        listed, and every requested header matches an allowed header pattern."""
        return (
            method in self.allowed_methods
            and any(_pattern(o, False).fullmatch(origin) for o in self.allowed_origins)
            and all(
                any(_pattern(h, True).fullmatch(name) for h in self.allowed_headers)
                for name in headers
            )
        )

    @property
    def any_origin(self) -> bool:
        return "*" in self.allowed_origins


@cache
def _pattern(text: str, ignore_case: bool) -> re.Pattern[str]:
    """One ``*`` matches any run of characters, the empty one included (s3-tests)."""
    source = ".*".join(re.escape(piece) for piece in text.split("*"))
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile(source, flags)


def check_rules(rules: list[CorsRule]) -> None:
    """What S3 refuses beyond the XML schema, with its messages."""
    if len(rules) > MAX_RULES:
        raise InvalidRequest(
            f"The number of CORS rules should not exceed allowed limit of {MAX_RULES} rules."
        )
    for rule in rules:
        for method in rule.allowed_methods:
            if method not in METHODS:
                raise InvalidRequest(
                    f"Found unsupported HTTP method in CORS config. Unsupported method is {method}"
                )
        for origin in rule.allowed_origins:
            if origin.count("*") > 1:
                raise InvalidRequest(
                    f'AllowedOrigin "{origin}" can not have more than one wildcard.'
                )
        for header in rule.allowed_headers:
            if header.count("*") > 1:
                raise InvalidRequest(
                    f'AllowedHeader "{header}" can not have more than one wildcard.'
                )
        for header in rule.expose_headers:
            if "*" in header:
                raise InvalidRequest(
                    f'ExposeHeader "{header}" contains wildcard. We currently do not support '
                    "wildcard for ExposeHeader."
                )


def rules_of(record: BucketRecord) -> list[CorsRule] | None:
    """The bucket's rules, or None when it has no CORS configuration."""
    text = record.settings.get(CORS_SETTING)
    if not text:
        return None
    return [
        CorsRule(
            allowed_methods=tuple(item["allowed_methods"]),
            allowed_origins=tuple(item["allowed_origins"]),
            allowed_headers=tuple(item.get("allowed_headers", ())),
            expose_headers=tuple(item.get("expose_headers", ())),
            max_age_seconds=item.get("max_age_seconds"),
            id=item.get("id"),
        )
        for item in json.loads(text)
    ]


def first_match(
    rules: list[CorsRule], origin: str, method: str, headers: tuple[str, ...] = ()
) -> CorsRule | None:
    """The first rule that allows the request: S3 uses that one alone."""
    return next((rule for rule in rules if rule.allows(origin, method, headers)), None)


async def put_bucket_cors(store: Store, bucket: str, rules: list[CorsRule]) -> None:
    check_rules(rules)
    text = json.dumps([asdict(rule) for rule in rules], separators=(",", ":"))
    await buckets.set_setting(store, bucket, CORS_SETTING, text)


async def get_bucket_cors(store: Store, bucket: str) -> list[CorsRule] | None:
    return rules_of(await buckets.get_bucket(store, bucket))


async def delete_bucket_cors(store: Store, bucket: str) -> None:
    await buckets.set_setting(store, bucket, CORS_SETTING, None)
