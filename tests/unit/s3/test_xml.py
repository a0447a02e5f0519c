"""S3 XML: request bodies are parsed safely (defusedxml), error documents are well formed."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import pytest
from defusedxml import DefusedXmlException

from gateway.s3 import xml
from gateway.s3.errors import S3Error

DELETE = b"""<?xml version="1.0" encoding="UTF-8"?>
<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Quiet>true</Quiet>
  <Object><Key>a/b.txt</Key></Object>
  <Object><Key>caf\xc3\xa9 &amp; co</Key><VersionId>null</VersionId></Object>
</Delete>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<Delete><Object><Key>&lol4;</Key></Object></Delete>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Delete [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Delete><Object><Key>&secret;</Key></Object></Delete>"""

EXTERNAL_PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Delete [<!ENTITY % remote SYSTEM "http://127.0.0.1:1/evil.dtd"> %remote;]>
<Delete/>"""

INTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Delete [<!ENTITY k "key">]>
<Delete><Object><Key>&k;</Key></Object></Delete>"""


def test_parse_strips_namespaces() -> None:
    document = xml.parse(DELETE)
    assert document.tag == "Delete"
    assert document.findtext("Quiet") == "true"
    assert [o.findtext("Key") for o in document.findall("Object")] == ["a/b.txt", "café & co"]
    assert all("{" not in element.tag for element in document.iter())


def test_parse_without_a_namespace_gives_the_same_tree() -> None:
    plain = xml.parse(DELETE.replace(b' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"', b""))
    assert ET.tostring(plain) == ET.tostring(xml.parse(DELETE))


def test_parse_strips_prefixed_namespaces_too() -> None:
    body = b'<s3:Delete xmlns:s3="urn:x"><s3:Object><s3:Key>k</s3:Key></s3:Object></s3:Delete>'
    document = xml.parse(body)
    assert document.tag == "Delete"
    assert document.findtext("Object/Key") == "k"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"not xml", id="text"),
        pytest.param(b"<Delete>", id="unclosed"),
        pytest.param(b"<Delete></Object>", id="mismatched"),
        pytest.param(b"<Delete/><Delete/>", id="two-roots"),
        pytest.param(b"<Delete>&undefined;</Delete>", id="undefined-entity"),
        pytest.param(b"\xff\xfe<\x00a\x00", id="garbage-bytes"),
        pytest.param(BILLION_LAUGHS, id="entity-expansion"),
        pytest.param(EXTERNAL_ENTITY, id="external-entity"),
        pytest.param(EXTERNAL_PARAMETER_ENTITY, id="external-parameter-entity"),
        pytest.param(INTERNAL_ENTITY, id="any-entity-declaration"),
    ],
)
def test_parse_rejects_malformed_and_dangerous_xml(body: bytes) -> None:
    with pytest.raises(S3Error) as caught:
        xml.parse(body)
    assert caught.value.code == "MalformedXML"
    assert caught.value.status == 400


@pytest.mark.parametrize(
    "body", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_PARAMETER_ENTITY, INTERNAL_ENTITY]
)
def test_entities_are_refused_by_defusedxml_before_expansion(body: bytes) -> None:
    with pytest.raises(S3Error) as caught:
        xml.parse(body)
    assert isinstance(caught.value.__cause__, DefusedXmlException)


def test_error_document_carries_code_message_resource_and_request_id() -> None:
    error = S3Error("NoSuchKey", fields={"Key": "a/<b>&c"})
    body = xml.error_document(error, "/bucket/a/<b>&c", "REQ123")
    assert body.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    document = ET.fromstring(body)
    assert document.tag == "Error"
    assert document.findtext("Code") == "NoSuchKey"
    assert document.findtext("Message") == "The specified key does not exist."
    assert document.findtext("Key") == "a/<b>&c"
    assert document.findtext("Resource") == "/bucket/a/<b>&c"
    assert document.findtext("RequestId") == "REQ123"
    assert [child.tag for child in document] == ["Code", "Message", "Key", "Resource", "RequestId"]


def test_error_document_with_a_custom_message_and_unicode() -> None:
    error = S3Error("InvalidArgument", "clé «invalide» \U0001f600")
    document = ET.fromstring(xml.error_document(error, "/b/é", "r"))
    assert document.findtext("Message") == "clé «invalide» \U0001f600"
    assert document.findtext("Resource") == "/b/é"


def test_root_add_render() -> None:
    document = xml.root("ListBucketResult")
    xml.add(document, "IsTruncated", False)
    xml.add(document, "MaxKeys", 1000)
    xml.add(document, "Prefix")
    xml.add(document, "Name", "b")
    parsed = ET.fromstring(xml.render(document))
    ns = "{" + xml.NAMESPACE + "}"
    assert parsed.tag == ns + "ListBucketResult"
    assert parsed.findtext(ns + "IsTruncated") == "false"
    assert parsed.findtext(ns + "MaxKeys") == "1000"
    assert parsed.findtext(ns + "Prefix") == ""
    assert parsed.findtext(ns + "Name") == "b"


def test_iso_time_is_utc_with_milliseconds() -> None:
    moment = datetime(2024, 1, 2, 1, 4, 5, 678999, tzinfo=timezone(timedelta(hours=-2)))
    assert xml.iso_time(moment) == "2024-01-02T03:04:05.678Z"
