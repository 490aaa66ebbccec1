"""The seam between the commands and a target: one protocol, one implementation per target.

A command never imports a target's internals: it asks ``targets.get(name)`` (for a new
window) or ``lifecycle.find`` (for a window that exists, dispatched on the target
recorded in its state) and talks to what it gets back through this protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from ecomctl.state import WindowState

if TYPE_CHECKING:
    from ecomctl.context import Context
    from ecomctl.reads import Reader
    from ecomshop.topology import Topology

Progress = Callable[[str], None]


def quiet(_message: str) -> None:
    """A progress callback that shows nothing."""


@dataclass(frozen=True)
class StartRequest:
    stage: str
    ttl: timedelta
    api_port: int | None = None
    tracing: bool = True
    extra_args: tuple[str, ...] = ()  # the local platform process's tuning flags (bench, tests)
    notify: str | None = None  # aws: an e-mail address the teardown's topic reports to
    cells: int = 1  # local: whole platforms side by side behind one API (ecomctl.local.cells)


@dataclass(frozen=True)
class Cleaned:
    """A window whose state outlived it (a crash, a reboot, ``kill -9``), and was removed."""

    stage: str
    why: str


@dataclass(frozen=True)
class Found:
    window: WindowState | None
    cleaned: Cleaned | None = None


@dataclass(frozen=True)
class Stopped:
    window: WindowState | None
    cleaned: Cleaned | None = None
    forced: bool = False
    leftovers: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)


class AwsAccess:
    """A boto3 session on a target's AWS endpoint: what every reader and experiment uses."""

    def __init__(self, session: Any, endpoint_url: str | None, region: str) -> None:
        self.session = session
        self.endpoint_url = endpoint_url
        self.region = region
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        """One client per service (boto3 clients are thread-safe), bounded timeouts and retries."""
        if service not in self._clients:
            from botocore.config import Config

            config = Config(connect_timeout=2, read_timeout=15, retries={"max_attempts": 3, "mode": "standard"},
                            max_pool_connections=32)
            self._clients[service] = self.session.client(
                service, endpoint_url=self.endpoint_url, region_name=self.region, config=config)
        return self._clients[service]


class Target(Protocol):
    name: str

    def start(self, ctx: Context, request: StartRequest, progress: Progress = quiet) -> Found:
        """Bring a window up; ``Found.cleaned`` names a stale window removed on the way."""

    def find(self, ctx: Context, window: WindowState) -> Found:
        """Check a recorded window: the same one if it is still there, else cleaned."""

    def stop(self, ctx: Context, window: WindowState, progress: Progress = quiet) -> Stopped:
        """Tear the window down and verify, by inventory, that nothing of it is left."""

    def access(self, ctx: Context, window: WindowState) -> AwsAccess:
        """A session on the window's AWS endpoint."""

    def topology(self, window: WindowState) -> Topology:
        """The names of the window's resources."""

    def reader(self, ctx: Context, window: WindowState) -> Reader:
        """The read layer on the window (with cells, over all of them)."""

    def describe(self, window: WindowState) -> dict[str, Any]:
        """What only this target has to say about a window (process, ports, log; account, stack)."""
