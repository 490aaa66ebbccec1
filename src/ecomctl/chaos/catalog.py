"""The shipped scenarios (``chaos/*.yaml``, located by ecomctl.assets) and ``--file`` ones."""

from __future__ import annotations

from pathlib import Path

from ecomctl.assets import chaos_dir
from ecomctl.chaos.spec import Experiment, load
from ecomctl.errors import ExitStatus, UsageError, UserError


def scenario_files() -> list[Path]:
    return sorted(p for p in chaos_dir().glob("*.yaml") if p.is_file())


def names() -> list[str]:
    return [p.stem for p in scenario_files()]


def resolve(scenario: str | None, file: Path | None) -> tuple[Path, Experiment]:
    """The experiment to run: ``--file PATH``, or a shipped scenario by name."""
    if file is not None:
        if not file.is_file():
            raise UserError(f"no experiment file at {file}", ExitStatus.NOT_FOUND)
        return file, load(file)
    if not scenario:
        raise UsageError(f"name a scenario ({', '.join(names())}) or pass --file PATH")
    path = chaos_dir() / f"{scenario}.yaml"
    if not path.is_file():
        raise UsageError(f"unknown scenario {scenario!r}; `ecomctl chaos list` shows {', '.join(names())}")
    experiment = load(path)
    if experiment.name != path.stem:
        raise UsageError(f"{path}:1: name: {experiment.name!r} does not match the file name {path.stem!r}")
    return path, experiment


def load_all() -> list[tuple[Path, Experiment]]:
    return [(p, load(p)) for p in scenario_files()]
