"""Print each patch's targets with their current fingerprints, marking those that changed."""

from __future__ import annotations

from ecomctl.local.patches import PATCHES, SIGN_CHEAPLY, fingerprint


def main() -> int:
    changed = 0
    for patch in (*PATCHES, SIGN_CHEAPLY):
        print(patch.name)
        for target in patch.targets:
            try:
                found = fingerprint(target)
            except LookupError as exc:
                found = f"missing ({exc})"
            same = found in patch.accepted(target)
            changed += not same
            print(f"  {'ok     ' if same else 'CHANGED'} {found:<16} {target}")
    return 1 if changed else 0


if __name__ == "__main__":
    raise SystemExit(main())
