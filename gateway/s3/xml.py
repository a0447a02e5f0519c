"""S3 XML: building response documents and parsing request bodies (with defusedxml)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from defusedxml import ElementTree as SafeET

from gateway.s3.errors import S3Error

NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
MAX_XML_BODY = 2 * 1024 * 1024


def root(tag: str) -> ET.Element:
    return ET.Element(tag, xmlns=NAMESPACE)


def add(parent: ET.Element, tag: str, text: str | int | bool | None = None) -> ET.Element:
    child = ET.SubElement(parent, tag)
    if isinstance(text, bool):
        child.text = "true" if text else "false"
    elif text is not None:
        child.text = str(text)
    return child


def render(element: ET.Element) -> bytes:
    return bytes(ET.tostring(element, encoding="utf-8", xml_declaration=True))


def iso_time(moment: datetime) -> str:
    """Timestamps in listings: ISO 8601 with milliseconds, as S3 writes them."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse(body: bytes) -> ET.Element:
    """Parse a request body; namespaces are dropped so ``find('Object')`` works either way."""
    try:
        document = SafeET.fromstring(body)
    except Exception as exc:  # defusedxml raises ParseError and its own DefusedXmlException
        raise S3Error("MalformedXML") from exc
    for element in document.iter():
        if isinstance(element.tag, str) and element.tag.startswith("{"):
            element.tag = element.tag.split("}", 1)[1]
    return document


def error_document(error: S3Error, resource: str, request_id: str) -> bytes:
    document = ET.Element("Error")
    add(document, "Code", error.code)
    add(document, "Message", error.message)
    for name, value in error.fields.items():
        add(document, name, value)
    add(document, "Resource", resource)
    add(document, "RequestId", request_id)
    return render(document)
