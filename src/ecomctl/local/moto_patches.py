"""The local target's patches to moto and its neighbours: see :mod:`ecomctl.local.patches`.

Kept as the name runtime.py and the tests import: ``apply()`` (idempotent, returns a
:class:`PatchReport`), ``sign_in_process_requests_cheaply()``, ``last_report()``,
``revert()`` and the ``patched()`` context manager.
"""

from __future__ import annotations

from ecomctl.local.patches import (
    PATCHES,
    Patch,
    PatchReport,
    apply,
    is_applied,
    last_report,
    patched,
    revert,
    sign_in_process_requests_cheaply,
)

__all__ = ["PATCHES", "Patch", "PatchReport", "apply", "is_applied", "last_report", "patched", "revert",
           "sign_in_process_requests_cheaply"]
