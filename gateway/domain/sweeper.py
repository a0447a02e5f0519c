"""The lifecycle sweep: a background pass that applies every bucket's lifecycle rules
(domain/lifecycle.py) and reports each thing it did (the gateway makes it an audit line).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from gateway.domain import multipart, objectlock, objects, versions
from gateway.domain.errors import NoSuchBucket, NoSuchUpload
from gateway.domain.lifecycle import (
    ABORT,
    DAY,
    EXPIRE,
    LIFECYCLE_SETTING,
    Due,
    Rule,
    loads,
    plan,
)
from gateway.domain.store import Store
from gateway.domain.values import ObjectRecord


@dataclass(frozen=True)
class Action:
    """One thing a sweep did: what, where and under which rule (for the audit log)."""

    kind: str  # EXPIRE, NONCURRENT, MARKER or ABORT
    bucket: str
    key: str
    rule: str
    version: str | None = None  # the version removed, or the delete marker added (S3's id)
    marker: bool = False  # an EXPIRE that added a delete marker (a versioned bucket)


Report = Callable[[Action], Awaitable[None]]


class _Changed(Exception):
    """The key is no longer as the sweep saw it: the step is not due now (skipped)."""


@dataclass
class Sweeper:
    """Applies every bucket's rules, at most ``budget`` actions and ``page`` keys per bucket
    and pass. It resumes each bucket's scan where the last pass stopped, so a bucket of
    millions of keys is covered over several passes without one long stall; after a
    restart it starts over, which is harmless: every step is judged again against the key
    as it is under the key's lock before it is taken, so a pass never acts on a key written
    meanwhile. A bucket never versioned is scanned by its objects, a versioned one by its
    versions (``scan_versions``)."""

    store: Store
    report: Report
    day: timedelta = DAY
    budget: int = 1000
    page: int = 1000
    cursors: dict[str, str] = field(default_factory=dict)

    async def sweep(self, moment: datetime | None = None) -> int:
        moment = moment or datetime.now(UTC)
        done = 0
        for bucket in await self.store.index.list_buckets():
            text = bucket.settings.get(LIFECYCLE_SETTING)
            if not text:
                self.cursors.pop(bucket.name, None)
                continue
            rules = loads(text)
            state = versions.status(bucket)
            try:
                if state is None:
                    done += await self._objects(bucket.name, rules, moment)
                else:
                    done += await self._versions(bucket.name, state, rules, moment)
                done += await self._uploads(bucket.name, rules, moment)
            except NoSuchBucket:  # deleted meanwhile
                self.cursors.pop(bucket.name, None)
        return done

    def _advance(self, bucket: str, last: str | None, end: bool) -> None:
        if end or last is None:
            self.cursors.pop(bucket, None)  # the end: the next pass starts over
        else:
            self.cursors[bucket] = last

    async def _objects(self, bucket: str, rules: list[Rule], moment: datetime) -> int:
        """A bucket never versioned: an object due is deleted for good."""
        if not any(r.enabled and (r.expiration_days or r.expiration_date) for r in rules):
            return 0
        rows = await self.store.index.scan(
            bucket, self.cursors.get(bucket, ""), inclusive=False, limit=self.page
        )
        done, last = 0, None
        for record in rows:
            last = record.key
            chosen = next((r for r in rules if r.expires(record, moment, self.day)), None)
            if chosen is None or objectlock.keeps(record, moment):
                continue  # a locked version is never expired
            if await objects.delete_object(
                self.store, bucket, record.key, only=record.manifest_digest
            ):
                await self.report(Action(EXPIRE, bucket, record.key, chosen.id))
                done += 1
            if done >= self.budget:
                break
        self._advance(bucket, last, bool(rows) and last == rows[-1].key and len(rows) < self.page)
        return done

    async def _versions(self, bucket: str, state: str, rules: list[Rule], moment: datetime) -> int:
        """A versioned bucket: each key's versions, whole, planned and then done step by
        step; a key the budget cuts short is planned again by the next pass."""
        if not any(rule.acts_on_versions for rule in rules):
            return 0
        rows = await self.store.index.scan_versions(
            bucket, self.cursors.get(bucket, ""), inclusive=False, limit=self.page
        )
        keys: dict[str, list[ObjectRecord]] = {}
        for record in rows:
            keys.setdefault(record.key, []).append(record)
        done, last = 0, None
        for key, history in keys.items():
            for step in plan(rules, history, moment, self.day, state):
                if done >= self.budget:
                    self._advance(bucket, last, False)
                    return done
                done += await self._take(bucket, state, rules, step, moment)
            last = key
        self._advance(bucket, last, len(keys) < self.page)
        return done

    async def _take(
        self, bucket: str, state: str, rules: list[Rule], step: Due, moment: datetime
    ) -> int:
        """One step, if the key as it now is (under its lock) still calls for it."""
        target = step.version

        def still_due(history: list[ObjectRecord]) -> None:
            fresh = plan(rules, history, moment, self.day, state)
            if not any(
                due.kind == step.kind
                and due.version.version_id == target.version_id
                and due.version.manifest_digest == target.manifest_digest
                for due in fresh
            ):
                raise _Changed()

        try:
            if step.kind == EXPIRE:
                marker = versions.delete_marker(bucket, target.key, objects.now())
                marker = await versions.commit(
                    self.store,
                    marker,
                    objects.NO_WRITE_CONDITIONS,
                    state,
                    check=still_due,
                )
                action = Action(EXPIRE, bucket, target.key, step.rule, marker.version, True)
            else:
                gone = await versions.delete_version(
                    self.store,
                    bucket,
                    target.key,
                    target.version_id,
                    lambda _, history: still_due(history),
                )
                if gone is None:
                    return 0
                action = Action(step.kind, bucket, target.key, step.rule, target.version)
        except _Changed:
            return 0
        await self.report(action)
        return 1

    async def _uploads(self, bucket: str, rules: list[Rule], moment: datetime) -> int:
        done = 0
        for rule in rules:
            before = rule.aborts_before(moment, self.day)
            if before is None:
                continue
            for upload in await self.store.index.stale_uploads(before):
                if upload.bucket != bucket or not upload.key.startswith(rule.filter.prefix):
                    continue
                if done >= self.budget:
                    return done
                try:
                    await multipart.abort_multipart_upload(
                        self.store, bucket, upload.key, upload.upload_id
                    )
                except NoSuchUpload:  # completed or aborted meanwhile
                    continue
                await self.report(Action(ABORT, bucket, upload.key, rule.id))
                done += 1
        return done
