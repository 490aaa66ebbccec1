"""What a patch is, how it is checked against the code it replaces, and how it is undone."""

from __future__ import annotations

import hashlib
import importlib
import inspect
import sys
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

_MISSING = object()


@dataclass(frozen=True, eq=False)
class Patch:
    """One replacement inside a dependency, and the exact code it was written against.

    ``fingerprints`` maps each target (the dotted path of a function the patch replaces, or
    whose behaviour it relies on or changes) to a digest of that function's source as it
    was when the patch was written, or to a tuple of digests: each a release of the
    dependency the patch was reviewed against. If any target is missing or its source
    matches none of them, the patch is not applied.
    """

    name: str
    fingerprints: Mapping[str, str | tuple[str, ...]]
    why: str  # the measured cost it removes
    retire_when: str  # the upstream change that would make it unnecessary
    upstream_bug: str | None  # a one-line report for upstream, if the cost is theirs to fix
    apply: Callable[[Patcher], None]
    # "speed" removes a measured cost; "fix" makes moto answer as AWS does where it would fail.
    kind: str = "speed"

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(self.fingerprints)

    def accepted(self, target: str) -> tuple[str, ...]:
        digests = self.fingerprints[target]
        return (digests,) if isinstance(digests, str) else tuple(digests)

    def mismatch(self) -> str | None:
        """Why this patch must not be applied here, or None if every target is as expected."""
        for target in self.targets:
            try:
                found = fingerprint(target)
            except LookupError as exc:
                return f"{target} is missing ({exc})"
            if found not in self.accepted(target):
                return (f"{target} changed (source fingerprint {found}, "
                        f"patch written against {' or '.join(self.accepted(target))})")
        return None


@dataclass
class PatchReport:
    applied: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # name -> why it was not applied
    disabled: str | None = None  # None: all patches; "speed": the fixes only; "all": none at all

    def to_json(self) -> dict[str, Any]:
        return {"applied": list(self.applied), "skipped": dict(self.skipped), "disabled": self.disabled}


def resolve(target: str) -> Any:
    """The object at a dotted path, as stored (a property or staticmethod, not its result)."""
    parts = target.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        try:
            for attr in parts[split:]:
                obj = inspect.getattr_static(obj, attr)
        except AttributeError as exc:
            raise LookupError(f"no attribute {attr!r}") from exc
        return obj
    raise LookupError(f"no module {parts[0]!r}")


def fingerprint(target: str) -> str:
    """A digest of the target's source, indentation removed."""
    obj = resolve(target)
    if isinstance(obj, property):
        obj = obj.fget
    elif isinstance(obj, staticmethod | classmethod):
        obj = obj.__func__
    try:
        source = inspect.getsource(obj)
    except (OSError, TypeError) as exc:
        raise LookupError(f"no source: {exc}") from exc
    return hashlib.sha256(textwrap.dedent(source).encode()).hexdigest()[:16]


@dataclass
class Patcher:
    """Makes a patch's changes and remembers what they replaced, so they can be undone."""

    changes: list[tuple[Any, str, Any]] = field(default_factory=list)
    rebinds: list[tuple[tuple[str, ...], str, Any, Any]] = field(default_factory=list)

    def set(self, owner: Any, name: str, value: Any) -> None:
        self.changes.append((owner, name, vars(owner).get(name, _MISSING)))
        setattr(owner, name, value)

    def rebind(self, prefixes: tuple[str, ...], name: str, original: Any, replacement: Any) -> None:
        """Point every loaded module under ``prefixes`` that holds ``original`` as ``name`` at
        ``replacement`` (modules that imported a function by name keep their own reference)."""
        self.rebinds.append((prefixes, name, original, replacement))
        for module_name, module in list(sys.modules.items()):
            if module is not None and module_name.startswith(prefixes) and vars(module).get(name) is original:
                self.set(module, name, replacement)

    def undo(self) -> None:
        for owner, name, previous in reversed(self.changes):
            if previous is _MISSING:
                if name in vars(owner):
                    delattr(owner, name)
            else:
                setattr(owner, name, previous)
        self.changes.clear()
        # A module imported while patched may have taken the replacement by name.
        for prefixes, name, original, replacement in reversed(self.rebinds):
            for module_name, module in list(sys.modules.items()):
                if module is not None and module_name.startswith(prefixes) and vars(module).get(name) is replacement:
                    setattr(module, name, original)
        self.rebinds.clear()
