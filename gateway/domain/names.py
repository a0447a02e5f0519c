"""S3 naming rules, checked before anything is written.

Bucket names: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
(general purpose buckets). The rules here are a little stricter than S3's so that every
valid name is also a valid OCI repository path component (no ``.-`` or ``-.``).
"""

from __future__ import annotations

import ipaddress
import re

from gateway.domain.errors import InvalidBucketName, InvalidKey, KeyTooLong

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
MAX_KEY_BYTES = 1024


def check_bucket_name(name: str) -> None:
    if (
        not _BUCKET.fullmatch(name)
        or ".." in name
        or ".-" in name
        or "-." in name
        or name.startswith(_RESERVED_PREFIXES)
        or name.endswith(_RESERVED_SUFFIXES)
        or _is_ip_address(name)
    ):
        raise InvalidBucketName(f"The specified bucket is not valid: {name!r}")


def _is_ip_address(name: str) -> bool:
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return False
    return True


def check_key(key: str) -> None:
    if not key:
        raise InvalidKey("Object keys must not be empty.")
    if "\x00" in key:
        raise InvalidKey("Object keys must not contain NUL characters.")
    try:
        encoded = key.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates from a bad percent-escape
        raise InvalidKey("Object keys must be valid UTF-8.") from exc
    if len(encoded) > MAX_KEY_BYTES:
        raise KeyTooLong(f"Your key is too long: {len(encoded)} bytes, the limit is 1024.")
