"""The import graph of the product's modules (issue 12, item 1), read from the source with `ast`.

Every import counts: at module level, inside functions and classes, under `if TYPE_CHECKING:`
and in `try:` blocks; absolute and relative; `import a.b` and `from a import b` where `b` is a
submodule. An edge goes to the deepest product module an import names (`from a import b` to
`a.b` when that is a module, else to `a`). Importing `a.b` also runs `a/__init__.py`; that
implicit edge is left out, so a package that re-exports its submodules is not a cycle.
Imports through `importlib` (entry points) are not edges: that is how the core finds providers
without importing them.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT_PACKAGES = ("adapter", "connectors", "mappings", "webhooks")
CORE_PACKAGE = "adapter"
FORBIDDEN_FROM_CORE = ("connectors", "webhooks")


@dataclass(frozen=True)
class Module:
    name: str  # dotted, e.g. "adapter.settings"; a package by its own name, e.g. "connectors"
    path: Path
    is_package: bool


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    path: Path
    line: int
    in_function: bool

    def describe(self, root: Path) -> str:
        where = " (inside a function)" if self.in_function else ""
        return f"{self.path.relative_to(root)}:{self.line} {self.source} -> {self.target}{where}"


def find_modules(root: Path, packages: Iterable[str]) -> dict[str, Module]:
    """Every `.py` file under the packages, by dotted module name."""
    modules: dict[str, Module] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            parts = list(path.relative_to(root).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts.pop()
            name = ".".join(parts)
            modules[name] = Module(name, path, is_package)
    return modules


def _deepest_module(dotted: str, modules: Mapping[str, Module]) -> str | None:
    """The longest prefix of `dotted` that is a product module (None: not the product's)."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def _absolute_base(module: Module, node: ast.ImportFrom) -> str:
    """The module a `from ... import` names, with a relative one made absolute."""
    if not node.level:
        return node.module or ""
    package = module.name.split(".") if module.is_package else module.name.split(".")[:-1]
    if node.level - 1 > len(package):
        raise ValueError(f"{module.path}:{node.lineno}: relative import beyond the top level")
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


class _ImportCollector(ast.NodeVisitor):
    def __init__(self, module: Module, modules: Mapping[str, Module]) -> None:
        self.module = module
        self.modules = modules
        self.function_depth = 0
        self.edges: list[Edge] = []

    def _add(self, target: str | None, node: ast.stmt) -> None:
        if target is not None:
            edge = Edge(
                self.module.name, target, self.module.path, node.lineno, self.function_depth > 0
            )
            self.edges.append(edge)

    def _in_function(self, node: ast.AST) -> None:
        self.function_depth += 1
        self.generic_visit(node)
        self.function_depth -= 1

    visit_FunctionDef = _in_function
    visit_AsyncFunctionDef = _in_function

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(_deepest_module(alias.name, self.modules), node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = _absolute_base(self.module, node)
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            if submodule in self.modules:
                self._add(submodule, node)
            else:  # a name defined in `base`, or `*`
                self._add(_deepest_module(base, self.modules), node)


def import_edges(modules: Mapping[str, Module]) -> list[Edge]:
    """Every import of a product module by a product module, in file and line order."""
    edges: list[Edge] = []
    for module in modules.values():
        source = module.path.read_text(encoding="utf-8")
        with warnings.catch_warnings():  # e.g. an invalid escape: not this test's concern
            warnings.simplefilter("ignore")
            tree = ast.parse(source, filename=str(module.path))
        collector = _ImportCollector(module, modules)
        collector.visit(tree)
        edges.extend(collector.edges)
    # `from a import x, y` names `a` once per name: one edge per line and target
    return sorted(set(edges), key=lambda e: (str(e.path), e.line, e.target))


def strongly_connected_components(
    nodes: Iterable[str], successors: Mapping[str, set[str]]
) -> list[list[str]]:
    """Tarjan's algorithm; each component sorted, components in the order found."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(successors.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            components.append(sorted(component))

    for node in sorted(nodes):
        if node not in index:
            visit(node)
    return components


def import_cycles(modules: Mapping[str, Module], edges: Iterable[Edge]) -> list[list[str]]:
    """Components of more than one module, and modules that import themselves; largest first."""
    successors: dict[str, set[str]] = {name: set() for name in modules}
    for edge in edges:
        successors[edge.source].add(edge.target)
    components = strongly_connected_components(modules, successors)
    cycles = [c for c in components if len(c) > 1 or c[0] in successors[c[0]]]
    return sorted(cycles, key=lambda c: (-len(c), c))


def describe_cycles(cycles: list[list[str]], edges: list[Edge], root: Path) -> str:
    lines = [f"{len(cycles)} import cycle(s) among the product's modules:"]
    for number, members in enumerate(cycles, 1):
        inside = set(members)
        lines.append(
            f"cycle {number} of {len(cycles)}, {len(members)} module(s): {', '.join(members)}"
        )
        lines.extend(
            f"    {edge.describe(root)}"
            for edge in edges
            if edge.source in inside and edge.target in inside
        )
    return "\n".join(lines)


def _package_of(module: str) -> str:
    return module.split(".", 1)[0]


# --- the product ------------------------------------------------------------------------------


def test_product_modules_import_each_other_without_cycles() -> None:
    modules = find_modules(ROOT, PRODUCT_PACKAGES)
    edges = import_edges(modules)
    cycles = import_cycles(modules, edges)
    if cycles:
        pytest.fail(describe_cycles(cycles, edges, ROOT), pytrace=False)


def test_adapter_imports_nothing_from_connectors_or_webhooks() -> None:
    modules = find_modules(ROOT, PRODUCT_PACKAGES)
    offending = [
        edge
        for edge in import_edges(modules)
        if _package_of(edge.source) == CORE_PACKAGE
        and _package_of(edge.target) in FORBIDDEN_FROM_CORE
    ]
    if offending:
        into = " or ".join(f"{package}/" for package in FORBIDDEN_FROM_CORE)
        pytest.fail(
            f"{len(offending)} import(s) from {CORE_PACKAGE}/ into {into}:\n"
            + "\n".join(f"    {edge.describe(ROOT)}" for edge in offending),
            pytrace=False,
        )


def _says_why(lines: list[str], line: int) -> bool:
    """The import at `line` (from 1), or the comment heading its block of imports, says
    `# lazy: <why>`."""
    index = line - 1
    while index >= 0:
        text = lines[index].strip()
        if "# lazy:" in text:
            return True
        if not text.startswith(("from ", "import ")):
            return False
        index -= 1
    return False


def test_imports_inside_functions_say_why_they_wait() -> None:
    """With no cycle to dodge, an import waits inside a function only to keep start-up light."""
    modules = find_modules(ROOT, PRODUCT_PACKAGES)
    sources = {m.path: m.path.read_text(encoding="utf-8").splitlines() for m in modules.values()}
    silent = [
        edge
        for edge in import_edges(modules)
        if edge.in_function and not _says_why(sources[edge.path], edge.line)
    ]
    if silent:
        pytest.fail(
            f"{len(silent)} import(s) inside a function without a `# lazy: <why>` comment:\n"
            + "\n".join(f"    {edge.describe(ROOT)}" for edge in silent),
            pytrace=False,
        )


def test_the_product_packages_are_found_with_their_imports() -> None:
    """Guards the two tests above against passing because they read nothing."""
    modules = find_modules(ROOT, PRODUCT_PACKAGES)
    assert {_package_of(name) for name in modules} == set(PRODUCT_PACKAGES)
    targets = {(edge.source, edge.target) for edge in import_edges(modules)}
    assert ("adapter.app", "adapter.settings") in targets


# --- the graph reader, on a made-up package ---------------------------------------------------


def _write(root: Path, files: Mapping[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_reader_resolves_relative_submodule_and_function_level_imports(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "from . import sub\n",
            "pkg/sub/__init__.py": "",
            "pkg/sub/a.py": "from .. import b\nfrom .c import thing\n",
            "pkg/sub/c.py": "def f():\n    import pkg.b as alias\n    return alias\nthing = 1\n",
            "pkg/b.py": "import json\nfrom pkg.sub import a\nfrom pkg import sub, undefined\n",
        },
    )
    modules = find_modules(tmp_path, ["pkg"])
    edges = {(e.source, e.target, e.in_function) for e in import_edges(modules)}
    assert edges == {
        ("pkg", "pkg.sub", False),
        ("pkg.sub.a", "pkg.b", False),
        ("pkg.sub.a", "pkg.sub.c", False),
        ("pkg.sub.c", "pkg.b", True),
        ("pkg.b", "pkg.sub.a", False),
        ("pkg.b", "pkg.sub", False),
        ("pkg.b", "pkg", False),
    }


def test_cycles_include_self_imports_and_leave_out_acyclic_modules(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg import b\n",
            "pkg/b.py": "def late():\n    from pkg import a\n",
            "pkg/selfish.py": "import pkg.selfish\n",
            "pkg/leaf.py": "from pkg import a\n",
        },
    )
    modules = find_modules(tmp_path, ["pkg"])
    edges = import_edges(modules)
    cycles = import_cycles(modules, edges)
    assert cycles == [["pkg.a", "pkg.b"], ["pkg.selfish"]]
    message = describe_cycles(cycles, edges, tmp_path)
    assert "pkg/b.py:2 pkg.b -> pkg.a (inside a function)" in message
