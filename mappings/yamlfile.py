"""YAML files that admins edit: loaded with the line of every key, so that errors can say
file, line and field."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from marshmallow import Schema, ValidationError

Path_ = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps dates as strings: the schemas parse them and name the field."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class FileError:
    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field or '(file)'}: {self.message}"


class FileErrors(Exception):
    """One or more errors in an admin's file; str() lists them one per line."""

    def __init__(self, errors: list[FileError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class YamlDocument:
    name: str
    text: str
    data: Any
    lines: Mapping[Path_, int]

    def errors(self, messages: Any) -> list[FileError]:
        """marshmallow's nested messages as file errors, each at the line of its field."""
        return [
            FileError(self.name, self.line_of(path), ".".join(map(str, path)), message)
            for path, message in flatten_messages(messages, ())
        ]

    def line_of(self, path: Path_) -> int | None:
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None


def read_yaml(path: Path, name: str | None = None) -> YamlDocument:
    name = name or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise FileErrors([FileError(name, None, "", f"cannot read: {e.strerror}")]) from e
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as e:
        line = e.problem_mark.line + 1 if e.problem_mark else None
        raise FileErrors([FileError(name, line, "", f"not valid YAML: {e.problem}")]) from e
    lines: dict[Path_, int] = {}
    if node is not None:
        _index(node, (), lines)
    return YamlDocument(name, text, data if data is not None else {}, lines)


def load(path: Path, schema: Schema, name: str | None = None) -> tuple[Any, YamlDocument]:
    """Read and validate one file; raise FileErrors naming every problem."""
    doc = read_yaml(path, name)
    if not isinstance(doc.data, dict):
        raise FileErrors([FileError(doc.name, 1, "", "must be a mapping of keys to values")])
    try:
        return schema.load(doc.data), doc
    except ValidationError as e:
        raise FileErrors(doc.errors(e.messages)) from e


def _index(node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, key.value)
            lines[child] = key.start_mark.line + 1
            _index(value, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*path, i)] = item.start_mark.line + 1
            _index(item, (*path, i), lines)


def flatten_messages(messages: Any, path: Path_ = ()) -> Iterator[tuple[Path_, str]]:
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            # marshmallow nests Dict value errors under "value"; "_schema" is the object itself.
            step = () if key in ("value", "_schema") else (key,)
            yield from flatten_messages(value, (*path, *step))
    elif isinstance(messages, list | tuple):
        for message in messages:
            yield from flatten_messages(message, path)
    else:
        yield path, str(messages)
