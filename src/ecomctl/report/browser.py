"""Open a report in a real headless Chromium: what it requested from the network, a screenshot.

Used by the tests (the report must work offline) and to make README's picture of a report.
Chromium makes requests of its own (updates, accounts, the clock) whatever the flags, so the
net log is read for the requests whose network isolation key is the page's ``file://`` origin.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from ecomctl.errors import PreconditionFailed

_QUIET = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
          "--disable-background-networking", "--disable-component-update", "--disable-default-apps",
          "--disable-extensions", "--metrics-recording-only", "--disable-features=Translate,OptimizationHints"]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise PreconditionFailed("no headless Chromium found (Debian: apt-get install chromium)")


def network_requests(page: Path, timeout_s: float = 60) -> list[str]:
    """The http(s) URLs Chromium requested while loading ``page`` (dumping its DOM)."""
    with tempfile.TemporaryDirectory(prefix="ecomctl-chromium-") as tmp:
        netlog = Path(tmp) / "net.json"
        subprocess.run([chromium(), *_QUIET, f"--user-data-dir={tmp}/profile", f"--log-net-log={netlog}",
                        "--dump-dom", page.resolve().as_uri()],
                       capture_output=True, timeout=timeout_s, check=True)
        log = json.loads(netlog.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = {e["params"].get("url", "") for e in log.get("events", [])
            if e.get("type") == start_job and _from_page(e.get("params", {}))}
    return sorted(u for u in urls if u.startswith(("http://", "https://")))


def _from_page(params: dict[str, object]) -> bool:
    return str(params.get("network_isolation_key", "")).startswith("file:")


def dom(page: Path, timeout_s: float = 60) -> str:
    with tempfile.TemporaryDirectory(prefix="ecomctl-chromium-") as tmp:
        proc = subprocess.run([chromium(), *_QUIET, f"--user-data-dir={tmp}/profile", "--dump-dom",
                               page.resolve().as_uri()], capture_output=True, text=True, timeout=timeout_s, check=True)
    return proc.stdout


def screenshot(page: Path, out: Path, width: int = 1100, height: int = 1800, timeout_s: float = 60) -> Path:
    with tempfile.TemporaryDirectory(prefix="ecomctl-chromium-") as tmp:
        subprocess.run([chromium(), *_QUIET, f"--user-data-dir={tmp}/profile", f"--screenshot={out.resolve()}",
                        f"--window-size={width},{height}", page.resolve().as_uri()],
                       capture_output=True, timeout=timeout_s, check=True)
    return out
