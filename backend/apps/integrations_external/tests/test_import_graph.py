"""The app's import graph, checked on the source (parsed with `ast`, nothing is imported):

- no import cycle among the app's modules at module level (a cycle makes import order matter
  and pushes imports into functions to break it);
- imports inside functions only where Django requires them, listed below: a new one fails
  here, and one that went away must come off the list.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

APP = "apps.integrations_external"
APP_DIR = Path(__file__).resolve().parents[1]
BACKEND = APP_DIR.parents[1]

# (file relative to the app, imported module) → how many imports of it sit in functions.
IN_FUNCTION_ALLOWED = Counter(
    {
        # AppConfig.ready(): models load only once every app is registered; importing these
        # registers the channels, the signal receivers and the Celery tasks.
        ("apps.py", f"{APP}.signals"): 1,
        ("apps.py", f"{APP}.tasks"): 1,
        ("apps.py", f"{APP}.email.channel"): 1,
        ("apps.py", f"{APP}.github.channel"): 1,
        ("apps.py", f"{APP}.slack.channel"): 1,
        ("apps.py", f"{APP}.teams.channel"): 1,
        ("apps.py", f"{APP}.webhooks.channel"): 1,
    }
)


def module_name(path: Path, backend: Path = BACKEND) -> str:
    parts = list(path.relative_to(backend).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_files(app_dir: Path = APP_DIR) -> list[Path]:
    return sorted(
        p
        for p in app_dir.rglob("*.py")
        if "tests" not in p.relative_to(app_dir).parts
        and "migrations" not in p.relative_to(app_dir).parts
    )


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """The modules an import statement names (`from a import b`: `a.b` too, b may be one)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module if is_package else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{base}" if base else package
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


class _Imports(ast.NodeVisitor):
    """Module-level and in-function imports of one file (`if TYPE_CHECKING:` blocks skipped:
    they never run)."""

    def __init__(self, module: str, is_package: bool) -> None:
        self.module, self.is_package = module, is_package
        self.depth = 0
        self.top: set[str] = set()
        # One entry per statement: the modules it may name (resolved in `in_function_imports`).
        self.in_functions: list[list[str]] = []

    def _function(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", "")
        if name == "TYPE_CHECKING":
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def _import(self, node: ast.Import | ast.ImportFrom) -> None:
        targets = _targets(node, self.module, self.is_package)
        if self.depth:
            self.in_functions.append(targets)
        else:
            self.top.update(targets)

    visit_Import = visit_ImportFrom = _import


def scan(app_dir: Path = APP_DIR, backend: Path = BACKEND) -> dict[str, _Imports]:
    found = {}
    for path in source_files(app_dir):
        module = module_name(path, backend)
        visitor = _Imports(module, path.name == "__init__.py")
        visitor.visit(ast.parse(path.read_text(), filename=str(path)))
        found[module] = visitor
    return found


def cycles(imports: dict[str, _Imports]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    graph = {m: sorted(v.top & imports.keys() - {m}) for m, v in imports.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def in_function_imports(
    imports: dict[str, _Imports], app_dir: Path = APP_DIR, backend: Path = BACKEND
) -> Counter[tuple[str, str]]:
    app_module = module_name(app_dir / "__init__.py", backend)
    counted: Counter[tuple[str, str]] = Counter()
    for module, visitor in imports.items():
        relative = module.removeprefix(app_module + ".").replace(".", "/")
        is_package = (app_dir / relative / "__init__.py").is_file()
        file = f"{relative}/__init__.py" if is_package else f"{relative}.py"
        for targets in visitor.in_functions:
            # `from a import b` names module a.b when there is one, else something in a.
            named = [t for t in targets[1:] if t in imports] or targets[:1]
            counted.update((file, target) for target in named)
    return counted


def test_import_graph_has_no_module_level_cycle():
    found = cycles(scan())
    assert not found, "module-level import cycles:\n" + "\n".join(
        "  " + " → ".join(c) for c in found
    )


def test_import_graph_in_function_imports_are_allowed():
    counted = in_function_imports(scan())
    extra = counted - IN_FUNCTION_ALLOWED
    gone = IN_FUNCTION_ALLOWED - counted
    assert not extra, "imports inside functions (move them to the top, or justify them in "
    "IN_FUNCTION_ALLOWED):\n" + "\n".join(f"  {f}: {m}" for f, m in sorted(extra))
    assert not gone, f"allowed but gone (take them off the list): {sorted(gone)}"


def test_import_graph_sees_cycles_and_in_function_imports(tmp_path):
    # given a package whose a and b import each other at module level, c imports a in a function
    app = tmp_path / "pkg"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "a.py").write_text("from pkg import b\n")
    (app / "b.py").write_text("from . import a\n")
    (app / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import b\n"
        "def f():\n    from pkg.a import x\n"
    )

    imports = scan(app, tmp_path)

    # then the cycle and the in-function import are found, the TYPE_CHECKING import ignored
    assert cycles(imports) == [["pkg.a", "pkg.b"]]
    assert in_function_imports(imports, app, tmp_path) == Counter({("c.py", "pkg.a"): 1})
