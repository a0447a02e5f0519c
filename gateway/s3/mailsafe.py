"""User metadata values as S3 stores and returns them: RFC 2047 encoded-words decoded on the
way in, and anything but printable US-ASCII encoded on the way out.

S3: "Values of such headers are character decoded as per RFC 2047 before storing and
encoded as per RFC 2047 to make them mail-safe before returning. If the string contains only
US-ASCII characters, it is presented as is."
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html). Output follows
the usual mail encoder's choice (JavaMail's ``MimeUtility``): ``Q`` for mostly-ASCII text,
``B`` otherwise, charset ``UTF-8``; a control character counts as non-ASCII, so
``"\\x04meta"`` comes back as ``=?UTF-8?Q?=04meta?=``.
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
import string

# RFC 2047 §5 (3): what may stand for itself in a Q-encoded word inside a header.
_Q_SAFE = frozenset((string.ascii_letters + string.digits + "!*+-/").encode())
_WORD = re.compile(r"=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=")
_PRINTABLE = frozenset(range(0x20, 0x7F))


def _q(data: bytes) -> str:
    return "".join(chr(b) if b in _Q_SAFE else "_" if b == 0x20 else f"={b:02X}" for b in data)


def encode(value: str) -> str:
    """The header form of a stored value: as is when printable US-ASCII, else one
    encoded-word."""
    data = value.encode("utf-8")
    if all(b in _PRINTABLE for b in data):
        return value
    plain = sum(1 for b in data if b in _PRINTABLE)
    if plain > len(data) - plain:
        return f"=?UTF-8?Q?{_q(data)}?="
    return f"=?UTF-8?B?{base64.b64encode(data).decode()}?="


def _word(found: re.Match[str]) -> str:
    charset, kind, text = found.group(1), found.group(2).upper(), found.group(3)
    try:
        if kind == "B":
            data = base64.b64decode(text, validate=True)
        else:
            data = quopri.decodestring(text.replace("_", " ").encode("ascii"), header=True)
        return data.decode(charset.split("*", 1)[0])
    except (binascii.Error, LookupError, UnicodeError, ValueError):
        return found.group(0)  # not a word we can read: kept as sent


def decode(wire: str) -> str:
    """A value as received (header bytes read as latin-1) to the text to store: raw UTF-8
    bytes read as UTF-8, encoded-words decoded (whitespace between two words dropped, as
    RFC 2047 §6.2 says)."""
    try:
        text = wire.encode("latin-1").decode("utf-8")
    except UnicodeError:
        text = wire
    if "=?" not in text:
        return text
    text = re.sub(r"(\?=)\s+(=\?)", r"\1\2", text)
    return _WORD.sub(_word, text)
