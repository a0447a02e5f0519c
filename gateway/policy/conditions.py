"""Policy conditions: operators and keys compiled once, tested against a request's values.

Semantics follow IAM (https://docs.aws.amazon.com/IAM/latest/UserGuide/
reference_policies_elements_condition_operators.html): values under one key are ORed,
keys and operators are ANDed; a key missing from the request makes a positive operator
false and a negated one (``StringNotEquals``, ``NotIpAddress``...) true; ``...IfExists``
makes a missing key true; ``ForAnyValue:`` / ``ForAllValues:`` quantify over a multi-valued
key (missing or empty: false for ``ForAnyValue``, true for ``ForAllValues``).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Any, Literal, TypeVar

from gateway.policy.errors import MalformedPolicy
from gateway.policy.patterns import Wildcards

IPAddress = IPv4Address | IPv6Address
ContextValue = str | bool | int | datetime | IPAddress
ContextValues = ContextValue | tuple[ContextValue, ...]
Family = Literal["string", "string-ignore-case", "like", "numeric", "date", "bool", "ip", "null"]
Quantifier = Literal["single", "any", "all"]
Compare = Callable[[Any, Any], bool]  # operator.eq, lt, le...: dates or floats
T = TypeVar("T")

# Operator -> (family, negated, how a request value compares with a policy value).
OPERATORS: dict[str, tuple[Family, bool, Compare]] = {
    "StringEquals": ("string", False, operator.eq),
    "StringNotEquals": ("string", True, operator.eq),
    "StringEqualsIgnoreCase": ("string-ignore-case", False, operator.eq),
    "StringNotEqualsIgnoreCase": ("string-ignore-case", True, operator.eq),
    "StringLike": ("like", False, operator.eq),
    "StringNotLike": ("like", True, operator.eq),
    "NumericEquals": ("numeric", False, operator.eq),
    "NumericNotEquals": ("numeric", True, operator.eq),
    "NumericLessThan": ("numeric", False, operator.lt),
    "NumericLessThanEquals": ("numeric", False, operator.le),
    "NumericGreaterThan": ("numeric", False, operator.gt),
    "NumericGreaterThanEquals": ("numeric", False, operator.ge),
    "DateEquals": ("date", False, operator.eq),
    "DateNotEquals": ("date", True, operator.eq),
    "DateLessThan": ("date", False, operator.lt),
    "DateLessThanEquals": ("date", False, operator.le),
    "DateGreaterThan": ("date", False, operator.gt),
    "DateGreaterThanEquals": ("date", False, operator.ge),
    "Bool": ("bool", False, operator.eq),
    "IpAddress": ("ip", False, operator.eq),
    "NotIpAddress": ("ip", True, operator.eq),
    "Null": ("null", False, operator.eq),
}
QUANTIFIERS: dict[str, Quantifier] = {"ForAnyValue:": "any", "ForAllValues:": "all"}
IF_EXISTS = "IfExists"

KeyType = Literal["string", "numeric", "date", "epoch", "bool", "ip"]
KEYS: dict[str, KeyType] = {
    "s3:prefix": "string",
    "s3:delimiter": "string",
    "s3:max-keys": "numeric",
    # The tag keys a write carries (many values: ForAnyValue:/ForAllValues: test the set).
    "s3:requestobjecttagkeys": "string",
    "aws:username": "string",
    "aws:userid": "string",
    "aws:principaltype": "string",
    "aws:sourceip": "ip",
    "aws:securetransport": "bool",
    "aws:currenttime": "date",
    "aws:epochtime": "epoch",
}
PRINCIPAL_TAG = "aws:principaltag/"
# Tag keys: ``s3:ExistingObjectTag/<tag key>`` (the object's current tags) and
# ``s3:RequestObjectTag/<tag key>`` (the tags a write carries). Condition keys are matched
# case-insensitively, so the tag key part is too.
TAG_PREFIXES = (PRINCIPAL_TAG, "s3:existingobjecttag/", "s3:requestobjecttag/")
# Which key types each family may test; "null" tests presence, so it takes any key.
FAMILY_KEYS: dict[Family, frozenset[KeyType]] = {
    "string": frozenset({"string", "numeric"}),
    "string-ignore-case": frozenset({"string", "numeric"}),
    "like": frozenset({"string", "numeric"}),
    "numeric": frozenset({"numeric", "epoch"}),
    "date": frozenset({"date", "epoch"}),
    "bool": frozenset({"bool"}),
    "ip": frozenset({"ip"}),
    "null": frozenset({"string", "numeric", "date", "epoch", "bool", "ip"}),
}


def key_type(key: str) -> KeyType:
    name = key.lower()
    if name in KEYS:
        return KEYS[name]
    for prefix in TAG_PREFIXES:
        if name.startswith(prefix) and len(name) > len(prefix):
            return "string"
    raise MalformedPolicy(f"Policy has an invalid condition key: {key}")


# Request values are typed; each family reads them through one of these, None = not comparable.


def as_text(value: ContextValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return _utc(value).isoformat().replace("+00:00", "Z")
    return str(value)


def as_number(value: ContextValue) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return float(value)
    if isinstance(value, str):
        return parse_number(value)
    return None


def as_date(value: ContextValue) -> datetime | None:
    if isinstance(value, datetime):
        return _utc(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return _from_epoch(str(value))
    if isinstance(value, str):
        return parse_date(value)
    return None


def as_bool(value: ContextValue) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    return None


def as_ip(value: ContextValue) -> IPAddress | None:
    if isinstance(value, IPv4Address | IPv6Address):
        address = value
    elif isinstance(value, str):
        try:
            address = ip_address(value)
        except ValueError:
            return None
    else:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # a dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d
    return address


def parse_number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def parse_date(text: str) -> datetime | None:
    """ISO 8601 (a naive time is UTC) or seconds since the epoch, as IAM accepts both."""
    if text.isdigit():
        return _from_epoch(text)
    try:
        return _utc(datetime.fromisoformat(text))
    except ValueError:
        return None


def _from_epoch(text: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(text), UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@dataclass(frozen=True)
class Condition:
    """One ``operator: {key: values}`` test. Equality compares what was written."""

    operator: str  # as written, e.g. "ForAnyValue:StringLikeIfExists"
    key: str  # as written; looked up case-insensitively
    values: tuple[str, ...]
    family: Family = field(compare=False)
    negated: bool = field(compare=False)
    quantifier: Quantifier = field(compare=False)
    if_exists: bool = field(compare=False)
    matches: Callable[[ContextValue], bool] = field(compare=False, repr=False)
    name: str = field(compare=False)  # the key lower-cased, as request contexts hold it

    def holds(self, keys: Mapping[str, ContextValues]) -> bool:
        """Whether the request's values (keyed by lower-cased condition key) satisfy it."""
        found = keys.get(self.name)
        present: tuple[ContextValue, ...] = (
            () if found is None else found if isinstance(found, tuple) else (found,)
        )
        if self.family == "null":
            return (self.values[0].lower() == "true") == (not present)
        if not present:
            if self.if_exists:
                return True
            return {"single": self.negated, "any": False, "all": True}[self.quantifier]
        if self.quantifier == "single":
            return any(self.matches(value) for value in present) != self.negated
        hits = (self.matches(value) != self.negated for value in present)
        return all(hits) if self.quantifier == "all" else any(hits)


def compile_condition(written_operator: str, key: str, values: tuple[str, ...]) -> Condition:
    """Compile one test, or raise MalformedPolicy saying what S3 would object to."""
    base, quantifier, if_exists = split_operator(written_operator)
    family, negated, compare = OPERATORS[base]
    if key_type(key) not in FAMILY_KEYS[family]:
        raise MalformedPolicy(f"Condition operator {written_operator} cannot be used with {key}")
    if not values:
        raise MalformedPolicy(f"Condition {written_operator} on {key} has no values")
    matches = _matcher(family, compare, values, written_operator)
    return Condition(
        written_operator, key, values, family, negated, quantifier, if_exists, matches, key.lower()
    )


def split_operator(written: str) -> tuple[str, Quantifier, bool]:
    """(base operator, quantifier, IfExists) of a written operator, or MalformedPolicy."""
    base = written
    quantifier: Quantifier = "single"
    for prefix, kind in QUANTIFIERS.items():
        if base.startswith(prefix):
            base, quantifier = base[len(prefix) :], kind
            break
    if_exists = base.endswith(IF_EXISTS) and base != IF_EXISTS
    if if_exists:
        base = base[: -len(IF_EXISTS)]
    if base not in OPERATORS or (base == "Null" and (if_exists or quantifier != "single")):
        raise MalformedPolicy(f"Invalid Condition type : {written}")
    return base, quantifier, if_exists


def _matcher(
    family: Family, compare: Compare, values: tuple[str, ...], written: str
) -> Callable[[ContextValue], bool]:
    if family == "string":
        wanted = frozenset(values)
        return lambda value: as_text(value) in wanted
    if family == "string-ignore-case":
        folded = frozenset(v.casefold() for v in values)
        return lambda value: as_text(value).casefold() in folded
    if family == "like":
        patterns = Wildcards.compile(values)
        return lambda value: patterns.matches(as_text(value))
    if family == "numeric":
        numbers = [_parsed(parse_number(v), "number", v, written) for v in values]
        return lambda value: _compared(as_number(value), numbers, compare)
    if family == "date":
        dates = [_parsed(parse_date(v), "date", v, written) for v in values]
        return lambda value: _compared(as_date(value), dates, compare)
    if family == "bool":
        flags = frozenset(_parsed(as_bool(v), "boolean", v, written) for v in values)
        return lambda value: as_bool(value) in flags
    if family == "ip":
        networks = [_network(v, written) for v in values]
        return lambda value: _in_networks(as_ip(value), networks)
    _parsed(as_bool(values[0]) if len(values) == 1 else None, "Null value", values[0], written)
    return lambda value: False  # never called: Null tests presence only


def _parsed(parsed: T | None, kind: str, text: str, written: str) -> T:
    if parsed is None:
        raise MalformedPolicy(f"Invalid {kind} {text!r} in condition {written}")
    return parsed


def _compared(value: T | None, wanted: list[T], compare: Compare) -> bool:
    return value is not None and any(compare(value, w) for w in wanted)


def _network(text: str, written: str) -> IPv4Network | IPv6Network:
    try:
        return ip_network(text, strict=False)
    except ValueError:
        raise MalformedPolicy(f"Invalid CIDR {text!r} in condition {written}") from None


def _in_networks(address: IPAddress | None, networks: list[IPv4Network | IPv6Network]) -> bool:
    if address is None:
        return False
    return any(address.version == net.version and address in net for net in networks)
