"""The layering of the integrations, checked on the source: the pipeline and the shared HTTP
plumbing know no provider, and no provider imports another.

Every import counts, in-function ones included (parsed with `ast`, nothing is imported). The
app-level modules that import every provider for Django and Celery (models.py, admin.py,
tasks.py, urls.py) are off limits too: importing one would load every provider.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = "apps.integrations_external"
APP_DIR = Path(__file__).resolve().parents[1]
PROVIDERS = ("webhooks", "slack", "teams", "github", "email")
AGGREGATORS = ("models", "admin", "tasks", "urls", "pages", "page_urls")

# Imports the layering forbids that cannot go without a redesign (left to the rest of issue 12).
KNOWN_EXCEPTIONS = {
    # The webhook channel emails an endpoint's owner when it disables their endpoint, through
    # EmailService, instead of publishing a notice through the pipeline.
    ("webhooks/channel.py", f"{APP}.email.services"),
}


def imported_modules(path: Path, package: str, app: str = APP) -> set[str]:
    """Every module `path` imports, anywhere in it. `from a import b` counts as `a`, and as `a.b`
    when `a` is the app itself (`from app import slack`: b is a package). `package` is the
    file's own package, for relative imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0]
                base = f"{parent}.{base}" if base else parent
            found.add(base)
            if base == app:
                found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def part_of(module: str, app: str = APP) -> str | None:
    """The app's top-level module or package that `module` belongs to (None: outside the app)."""
    if not module.startswith(app + "."):
        return None
    return module[len(app) + 1 :].split(".")[0]


def violations(app_dir: Path = APP_DIR, app: str = APP) -> set[tuple[str, str]]:
    """(file relative to the app, module it may not import) for every file of the pipeline,
    of http/ and of each provider."""
    forbidden_for = {
        "pipeline": set(PROVIDERS) | set(AGGREGATORS),
        "http": {"pipeline", *PROVIDERS, *AGGREGATORS},
        **{p: (set(PROVIDERS) - {p}) | set(AGGREGATORS) for p in PROVIDERS},
    }
    found: set[tuple[str, str]] = set()
    for layer, forbidden in forbidden_for.items():
        for path in sorted((app_dir / layer).rglob("*.py")):
            relative = path.relative_to(app_dir)
            package = ".".join([app, *relative.parent.parts])
            for module in imported_modules(path, package, app):
                if part_of(module, app) in forbidden:
                    found.add((relative.as_posix(), module))
    return found


@pytest.mark.parametrize("layer", ["pipeline", "http", *PROVIDERS])
def test_layer_package_exists(layer):
    assert (APP_DIR / layer / "__init__.py").is_file()
    assert len(list((APP_DIR / layer).glob("*.py"))) > 1


@pytest.mark.parametrize("layer", ["pipeline", "http", *PROVIDERS])
def test_layer_imports_no_provider(layer):
    found = {v for v in violations() - KNOWN_EXCEPTIONS if v[0].startswith(f"{layer}/")}
    assert not found, "imports across the layering (tests/test_layout.py):\n" + "\n".join(
        f"  {file} imports {module}" for file, module in sorted(found)
    )


def test_layout_known_exceptions_still_exist():
    # An exception that was fixed comes off the list, so the list stays the truth.
    assert violations() >= KNOWN_EXCEPTIONS


def test_layout_check_sees_in_function_and_relative_imports(tmp_path):
    # given a provider that imports another inside a function, and the pipeline one relatively
    app_dir = tmp_path / "app"
    for layer in ("pipeline", "http", *PROVIDERS):
        (app_dir / layer).mkdir(parents=True)
        (app_dir / layer / "__init__.py").write_text("")
    (app_dir / "slack" / "channel.py").write_text(
        "import json\n\ndef send():\n    from app.email.services import EmailService\n"
    )
    (app_dir / "pipeline" / "engine.py").write_text("from ..github import client\n")
    (app_dir / "webhooks" / "views.py").write_text("from app.webhooks.models import Endpoint\n")

    # when the layering is checked, then both are found and the import within a provider is not
    assert violations(app_dir, "app") == {
        ("slack/channel.py", "app.email.services"),
        ("pipeline/engine.py", "app.github"),
    }
