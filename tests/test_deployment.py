"""Deployment files: the compose file publishes the web tier on loopback unless told otherwise,
and the constraints file pins every package that the installs use."""

from __future__ import annotations

import fnmatch
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from mappings.settings import parse_settings
from mappings.yamlfile import FileErrors

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


# The compose file as the Docker docs promise it (Docker itself is not run here)


def compose(environment: dict[str, str]) -> dict[str, Any]:
    return yaml.safe_load(interpolated(COMPOSE.read_text(encoding="utf-8"), environment))


ADAPTER_SERVICES = ("migrate", "web", "worker")


def test_every_adapter_service_mounts_the_admins_mappings_directory_read_only() -> None:
    for environment, source in (({}, "./mappings"), ({"MAPPINGS_DIR": "/srv/maps"}, "/srv/maps")):
        services = compose(environment)["services"]
        for name in ADAPTER_SERVICES:
            service = services[name]
            target = service["environment"]["ENTITLEMENTS_MAPPINGS_DIR"]
            assert f"{source}:{target}:ro" in service["volumes"], name


def test_the_web_tiers_metrics_directory_is_a_tmpfs() -> None:
    web = compose({})["services"]["web"]
    directory = web["environment"]["PROMETHEUS_MULTIPROC_DIR"]
    assert [entry.split(":")[0] for entry in web["tmpfs"]] == [directory]
    for name in ("migrate", "worker"):  # the workers count for themselves
        assert "PROMETHEUS_MULTIPROC_DIR" not in compose({})["services"][name]["environment"]


def test_the_shells_language_does_not_reach_the_adapter() -> None:
    desktop = {"LANGUAGE": "en_US:en", "LANG": "en_US.UTF-8"}
    assert compose(desktop)["services"]["web"]["environment"]["ENTITLEMENTS_LANGUAGE"] == "de"
    chosen = {**desktop, "ENTITLEMENTS_LANGUAGE": "en"}
    assert compose(chosen)["services"]["web"]["environment"]["ENTITLEMENTS_LANGUAGE"] == "en"
    used = {match["name"] for match in VARIABLE.finditer(COMPOSE.read_text(encoding="utf-8"))}
    assert not {"LANGUAGE", "LANG", "LC_ALL"} & used


def test_a_locale_list_as_the_language_setting_is_refused_saying_what_it_is() -> None:
    with pytest.raises(FileErrors) as refused:
        parse_settings({"LANGUAGE": "en_US:en"}, None)
    [error] = refused.value.errors
    assert "ENTITLEMENTS_LANGUAGE" in str(error) and "Must be one of: de, en." in str(error)
    assert "locale list" in str(error) and "language code" in str(error)
    assert parse_settings({"LANGUAGE": "en"}, None).language == "en"


DOCKERIGNORE = ROOT / ".dockerignore"


def ignored(path: str) -> bool:
    """Whether .dockerignore keeps `path` out of the build context (its patterns as Docker
    reads them, for the forms the file uses: `name`, `dir/name`, `**/name`, `*` in a name)."""
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    parts = path.split("/")
    for pattern in patterns:
        tail = pattern.removeprefix("**/")
        depth = len(tail.split("/"))
        starts = range(len(parts) - depth + 1) if pattern.startswith("**/") else [0]
        for start in starts:
            if fnmatch.fnmatchcase("/".join(parts[start : start + depth]), tail):
                return True
    return False


def test_the_build_context_leaves_out_the_virtualenv_git_and_secrets() -> None:
    for path in (".venv", ".git", ".env", "docker/.env", "adapter/__pycache__", "entitlements.db"):
        assert ignored(path), path
    copied = re.findall(r"^COPY\s+(.+)\s+\S+$", (ROOT / "docker" / "Dockerfile").read_text(), re.M)
    sources = [source for line in copied for source in line.split()]
    assert "adapter" in sources and "pyproject.toml" in sources
    assert [source for source in sources if ignored(source)] == []
