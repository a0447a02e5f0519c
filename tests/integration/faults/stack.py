"""One fault-injection stack: Zot (a process of its own, restartable on the same storage),
the fault proxy in front of it, and the gateway as a separate process (``python -m gateway
serve``) that reaches Zot only through the proxy; plus what every scenario checks afterwards:
``reindex --check`` over the same index and registry, and the objects a client reads."""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar
from unittest import mock
from urllib.parse import urlsplit

import httpx
from botocore.exceptions import BotoCoreError, ClientError

from gateway.__main__ import main
from tests.conftest import ACCESS_KEY, SECRET_KEY, s3_client
from tests.fixtures.fault_proxy import FaultProxy
from tests.fixtures.gateway_forks import ForkedGateway, GatewayForks
from tests.fixtures.registries import RunningRegistry, free_port, start

PREFIX = "faults"
T = TypeVar("T")
# Where the client may retry: an S3 error a client retries, or no answer at all.
RETRIED = (ClientError, BotoCoreError, httpx.TransportError, AssertionError)


@dataclass
class Stack:
    root: Path
    forks: GatewayForks
    env: dict[str, str] = field(default_factory=dict)  # more ARTIFACT_STORE_* settings
    proxied: bool = True  # the gateway reaches Zot through the proxy (else straight)
    registry: RunningRegistry = field(init=False)
    proxy: FaultProxy = field(init=False)
    gateway: ForkedGateway = field(init=False)

    def __post_init__(self) -> None:
        self.data = self.root / "gateway"
        self.registry_root = self.root / "registry"
        self.port = free_port()

    # -- processes ---------------------------------------------------------------------------

    def start(self) -> Stack:
        """Zot, the proxy, the gateway; what started is stopped again if one fails."""
        try:
            self.registry = start(self.registry_root)
            self.proxy = FaultProxy(self.registry_port).start()
            self.start_gateway()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for part in ("gateway", "proxy", "registry"):
            if hasattr(self, part):
                with contextlib.suppress(Exception):
                    getattr(self, part).stop()

    @property
    def registry_port(self) -> int:
        port = urlsplit(self.registry.url).port
        assert port is not None
        return port

    def start_gateway(self) -> None:
        """``python -m gateway serve`` (forked, see gateway_forks.py), its registry the proxy;
        the repository prefix is this suite's."""
        self.data.mkdir(parents=True, exist_ok=True)
        env = {
            **replace(
                self.registry, url=self.proxy.url if self.proxied else self.registry.url
            ).env(),
            "ARTIFACT_STORE_LOG_LEVEL": "warning",
            "ARTIFACT_STORE_ROOT_ACCESS_KEY": ACCESS_KEY,
            "ARTIFACT_STORE_ROOT_SECRET_KEY": SECRET_KEY,
            "ARTIFACT_STORE_REPOSITORY_PREFIX": PREFIX,
            **self.env,
        }
        argv = ["--data-dir", str(self.data), "serve", "--port", str(self.port)]
        self.gateway = self.forks.start(argv, env, self.data / "gateway.log", self.port)

    def kill_gateway(self) -> None:
        self.gateway.kill()

    def kill_registry(self) -> None:
        """``kill -9`` of Zot."""
        self.registry.process.kill()
        self.registry.process.wait()

    def restart_registry(self) -> None:
        """Zot again, on the same storage and port."""
        self.registry = start(self.registry_root, port=self.registry_port)

    @property
    def url(self) -> str:
        return self.gateway.url

    def s3(self, **config: Any) -> Any:
        return s3_client(self.url, **config)

    # -- checks ------------------------------------------------------------------------------

    def check_index(self) -> list[dict[str, Any]]:
        """``reindex --check --json`` over this stack's index and registry (straight to Zot,
        not through the proxy): the differences it reports."""
        env = {
            **self.registry.env(),
            "ARTIFACT_STORE_REPOSITORY_PREFIX": PREFIX,
            "ARTIFACT_STORE_LOG_LEVEL": "warning",
        }
        out = io.StringIO()
        with mock.patch.dict(os.environ, env), contextlib.redirect_stdout(out):
            code = main(["--data-dir", str(self.data), "reindex", "--check", "--json"])
        differences: list[dict[str, Any]] = json.loads(out.getvalue())["differences"]
        assert code == (1 if differences else 0)
        return differences


def eventually(attempt: Callable[[], T], seconds: float = 60, pause: float = 0.25) -> T:
    """What ``attempt`` returns once it stops failing as a client's retry would see it (an
    S3 error, no answer, or a check not true yet); its last failure after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return attempt()
        except RETRIED:
            if time.monotonic() > deadline:
                raise
            time.sleep(pause)


@contextlib.contextmanager
def running(
    root: Path, forks: GatewayForks, env: dict[str, str] | None = None, *, proxied: bool = True
) -> Iterator[Stack]:
    """A stack under ``root``; ``env``: more ARTIFACT_STORE_* settings of the gateway."""
    stack = Stack(root, forks, env or {}, proxied).start()
    try:
        yield stack
    finally:
        stack.stop()
