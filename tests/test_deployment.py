"""Deployment files: the compose file publishes the web tier on loopback unless told otherwise,
and the constraints file pins every package that the installs use."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker" / "compose.yaml"
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"
CONSTRAINED_INSTALL = ["-c", "requirements/constraints.txt"]
VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?::(?P<how>[-?])(?P<word>[^}]*))?\}")


def interpolated(text: str, environment: dict[str, str]) -> str:
    """Compose's `${NAME}`, `${NAME:-default}` and `${NAME:?error}`, with `environment` as the
    shell's (an empty value counts as unset, as with compose's `:-`)."""

    def value(match: re.Match[str]) -> str:
        given = environment.get(match["name"], "")
        if given:
            return given
        if match["how"] == "?":
            return f"<{match['name']}>"  # required: compose would stop; any value will do here
        return match["word"] or ""

    return VARIABLE.sub(value, text)


def published(environment: dict[str, str]) -> list[Any]:
    compose = yaml.safe_load(interpolated(COMPOSE.read_text(encoding="utf-8"), environment))
    return compose["services"]["web"]["ports"]


def test_compose_publishes_the_web_tier_on_loopback_by_default() -> None:
    assert published({}) == ["127.0.0.1:8080:8080"]
    # No other service is published at all (the database and the workers' metrics stay inside).
    compose = yaml.safe_load(interpolated(COMPOSE.read_text(encoding="utf-8"), {}))
    assert [name for name, service in compose["services"].items() if "ports" in service] == ["web"]


def test_compose_publishes_on_another_address_when_told_to() -> None:
    assert published({"PUBLISH_ADDRESS": "0.0.0.0"}) == ["0.0.0.0:8080:8080"]


def pinned() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in CONSTRAINTS.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"not pinned with ==: {line}"
            pins[normalised(name)] = version
    return pins


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    return normalised(re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement).group(0))


def test_the_constraints_pin_every_dependency_and_test_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    missing = {requirement_name(r) for r in wanted} - set(pinned())
    assert not missing, f"not in {CONSTRAINTS.name}: {sorted(missing)}"
    assert "helpdesk-entitlements" not in pinned()  # the project itself is never pinned


@pytest.mark.parametrize(
    "path", [".ci/run", "docker/Dockerfile", "README.md", "docs/operations.md"]
)
def test_the_installs_use_the_constraints(path: str) -> None:
    text = (ROOT / path).read_text(encoding="utf-8")
    installs = [shlex.split(i) for i in re.findall(r"pip install [^\n`&]*", text)]
    project_installs = [i for i in installs if {".", ".[test]"} & set(i)]  # not wheels, not pip
    assert project_installs, f"no install of the project in {path}"
    for install in project_installs:
        at = install.index("-c") if "-c" in install else -1
        assert install[at : at + 2] == CONSTRAINED_INSTALL, f"{path}: {shlex.join(install)}"
