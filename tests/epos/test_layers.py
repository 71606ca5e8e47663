"""The import graph of our apps points one way (ARCHITECTURE section 2):

    integrations, metrics  ->  building_blocks  ->  opportunities  ->  stages  ->  epos

Every import is read from the source, including those inside functions, so a lazy import cannot
hide an arrow pointing up. The only exceptions are the project's wiring in `epos`.
"""

import ast
from pathlib import Path

from django.conf import settings

LAYERS = {
    "epos": set(),
    "stages": {"epos"},
    "opportunities": {"stages", "epos"},
    "building_blocks": {"opportunities", "stages", "epos"},
    "metrics": {"building_blocks", "opportunities", "stages", "epos"},
    "integrations": {"building_blocks", "opportunities", "stages", "epos"},
}
# Wiring may name every app: the URL tree and the demo-data command that fills all of them.
WIRING = {"epos/urls.py", "epos/management/commands/seed_demo.py"}


def imported_apps(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return {name.split(".")[0] for name in names} & set(LAYERS)


def arrows() -> list[tuple[str, str, str]]:
    """(file, importing app, imported app) for every import of one of our apps by another."""
    found = []
    for app in LAYERS:
        for path in sorted((Path(settings.BASE_DIR) / app).rglob("*.py")):
            relative = path.relative_to(settings.BASE_DIR).as_posix()
            for imported in imported_apps(path) - {app}:
                found.append((relative, app, imported))
    return found


def test_our_apps_import_only_the_layers_below_them():
    wrong = [
        f"{file} ({app}) imports {imported}"
        for file, app, imported in arrows()
        if imported not in LAYERS[app] and file not in WIRING
    ]

    assert wrong == []


def test_nothing_but_wiring_imports_integrations():
    importers = {file for file, _app, imported in arrows() if imported == "integrations"}

    assert importers <= WIRING


def test_the_check_sees_lazy_imports(tmp_path):
    module = tmp_path / "lazy.py"
    module.write_text("def f():\n    from integrations.tasks import enqueue\n    import metrics\n")

    assert imported_apps(module) == {"integrations", "metrics"}
