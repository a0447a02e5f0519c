"""Reading the audit file back (gateway/audit.py: read_recent, AuditQuery): newest first,
filters, the window's cut line, and lines that are not records."""

from __future__ import annotations

import json
from pathlib import Path

from gateway.audit import AuditLog, AuditQuery, AuditRecord, read_recent


def record(principal: str, action: str, decision: str) -> AuditRecord:
    return AuditRecord(
        request_id="r",
        principal=principal,
        auth="bearer",
        access_key=None,
        source_ip=None,
        operation="op",
        action=action,
        resource="/b/k",
        decision=decision,
        rule="role:x",
    )


def written(tmp_path: Path) -> Path:
    log = AuditLog(str(tmp_path / "audit.log"))
    assert log.path == tmp_path / "audit.log"
    for index in range(5):
        log.write(record("alice", "s3:GetObject", "allow"))
        log.write(record("bob", "s3:PutObject", "deny" if index % 2 else "allow"))
    log.close()
    return tmp_path / "audit.log"


def test_newest_first_up_to_the_limit(tmp_path: Path) -> None:
    path = written(tmp_path)
    with path.open("a") as handle:
        handle.write(json.dumps({**vars(record("carol", "s3:ListBucket", "allow"))}) + "\n")
    found = read_recent(path, AuditQuery(limit=3))
    assert [line["principal"] for line in found] == ["carol", "bob", "alice"]


def test_filters_combine(tmp_path: Path) -> None:
    path = written(tmp_path)
    assert len(read_recent(path, AuditQuery(principal="alice"))) == 5
    denied = read_recent(path, AuditQuery(action="put", decision="deny"))
    assert [(line["principal"], line["action"]) for line in denied] == [("bob", "s3:PutObject")] * 2
    assert read_recent(path, AuditQuery(principal="alice", action="put")) == []


def test_the_window_drops_its_cut_first_line_and_junk(tmp_path: Path) -> None:
    path = written(tmp_path)
    with path.open("a") as handle:
        handle.write("not json\n[1, 2]\n")
    size = path.stat().st_size
    one_line = len(path.read_text().splitlines()[-3]) + 1
    found = read_recent(path, AuditQuery(limit=100), window=one_line + 12 + 5)
    assert len(found) == 1  # the last record whole; the cut line before it is dropped
    assert read_recent(path, AuditQuery(), window=size) == read_recent(path, AuditQuery())


def test_no_file_yet_is_no_lines(tmp_path: Path) -> None:
    assert read_recent(tmp_path / "missing.log", AuditQuery()) == []


def test_stdout_and_off_have_no_path() -> None:
    assert AuditLog("-").path is None
    assert AuditLog(None).path is None
