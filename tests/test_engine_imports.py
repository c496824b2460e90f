"""The engine's modules depend downward only: their imports of one another form no circle.

Read from the source (every import statement, those under ``if TYPE_CHECKING:`` and inside functions
included), so a circle that Python happens to tolerate at run time is reported all the same: a newcomer
changing one module should not have to know the order in which the others finish importing.
"""

from __future__ import annotations

import ast
from pathlib import Path

import skill.engine

ENGINE_DIR = Path(skill.engine.__file__).resolve().parent
PACKAGE = "skill.engine"
# Nothing of the platform in the engine: it is a pure function of (record, event, time, locale).
PLATFORM_PACKAGES = ("ask_sdk", "ask_sdk_core", "ask_sdk_model", "flask", "werkzeug", "skill.alexa", "skill.web",
                     "skill.storage")


def engine_modules() -> dict[str, Path]:
    return {path.stem: path for path in sorted(ENGINE_DIR.glob("*.py")) if path.stem != "__init__"}


def imported_names(path: Path) -> list[str]:
    """Every module an import statement in ``path`` names (``from skill.engine import x`` names x too)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def engine_imports() -> dict[str, set[str]]:
    modules = engine_modules()
    graph = {}
    for name, path in modules.items():
        targets = {full.removeprefix(PACKAGE + ".").split(".")[0]
                   for full in imported_names(path) if full.startswith(PACKAGE + ".")}
        graph[name] = {target for target in targets if target in modules and target != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of imports, as the modules along it (the first repeated at the end), or None."""
    state: dict[str, str] = {}  # visiting | done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "visiting"
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "visiting":
                return path[path.index(target):] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_engine_modules_import_one_another_without_a_circle():
    cycle = find_cycle(engine_imports())
    assert cycle is None, "the engine's imports go round in a circle: " + " -> ".join(cycle)


def test_the_cycle_finder_reports_a_circle_it_is_shown():
    # The check above can fail: the same finder, on the shape the engine had before (content -> rules ->
    # compress -> content), names the circle.
    graph = {"content": {"rules"}, "rules": {"compress"}, "compress": {"content", "plan"}, "plan": set()}
    assert find_cycle(graph) == ["compress", "content", "rules", "compress"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_engine_imports_nothing_of_alexa_flask_or_storage():
    found = {name: sorted(full for full in imported_names(path) if full.startswith(PLATFORM_PACKAGES))
             for name, path in engine_modules().items()}
    assert not {name: imports for name, imports in found.items() if imports}, found


def test_the_helper_modules_reach_the_guide_only_through_its_navigation():
    # side_questions, outcomes, alerts, playback, compress and rules take the turn's Reply (reply.py): none
    # of them imports the guide, so each can be read, and tested, below it.
    graph = engine_imports()
    importers = sorted(name for name, targets in graph.items() if "guide" in targets)
    assert importers == [], importers
