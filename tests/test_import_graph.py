"""The pack's modules import each other without circles, so each one reads on its own.

The graph is built from the source (``ast``), not by importing: every ``import`` and
``from … import`` of ``runninghub_video/`` and ``nodes/``, at top level and inside functions
(a lazy import still ties two modules together), except under ``if TYPE_CHECKING:``.
The nodes reach the library relatively (``from ..runninghub_video.run import pipeline``), as the
pack is one package in ComfyUI; the tests do the same (see conftest.py).
"""
from __future__ import annotations

import ast
from pathlib import Path

PACK = Path(__file__).resolve().parent.parent
PACKAGES = ("runninghub_video", "nodes")
# The library's folders, lowest first: a module may import from its own folder and the ones before it.
# The entry points (cli, demo, terminal, emulator) sit above them all, the nodes above those.
LAYERS = ("core", "remote", "media", "ledger", "words", "run")


def _module_names() -> dict[str, Path]:
    names = {}
    for package in PACKAGES:
        for path in sorted((PACK / package).rglob("*.py")):
            parts = list(path.relative_to(PACK).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            names[".".join(parts)] = path
    return names


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST):
    """Import statements anywhere in ``tree`` except the bodies of ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from (n for stmt in node.orelse for n in _imports_in(stmt))
            continue
        yield from _imports_in(node)


def _imports_in(node: ast.AST):
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node
    yield from _imports(node)


def _targets(module: str, is_package: bool, node: ast.Import | ast.ImportFrom, known: set[str]) -> set[str]:
    """The pack modules an import statement loads (outside modules are left out)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in known}
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        base = package[:len(package) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    found = set()
    for alias in node.names:
        if f"{target}.{alias.name}" in known:
            found.add(f"{target}.{alias.name}")
        elif target in known:
            found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    """Module → the pack modules it imports (itself left out)."""
    names = _module_names()
    known = set(names)
    graph = {}
    for module, path in names.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges = set()
        for node in _imports(tree):
            edges |= _targets(module, path.name == "__init__.py", node, known)
        graph[module] = edges - {module}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of imports as ``[a, b, …, a]``, or None when there is none."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(module: str) -> list[str] | None:
        path.append(module)
        on_path.add(module)
        for target in sorted(graph.get(module, ())):
            if target in on_path:
                return path[path.index(target):] + [target]
            if target not in done:
                cycle = visit(target)
                if cycle:
                    return cycle
        on_path.discard(module)
        path.pop()
        done.add(module)
        return None

    for module in sorted(graph):
        if module not in done:
            cycle = visit(module)
            if cycle:
                return cycle
    return None


def test_the_graph_sees_top_level_lazy_and_package_relative_imports():
    graph = import_graph()
    assert "runninghub_video.remote.api" in graph["runninghub_video.run.pipeline"]  # top level, relative
    assert "runninghub_video.run.pipeline" in graph["nodes.seedance"]  # inside execute, from ..runninghub_video
    assert "runninghub_video.emulator.control" in graph["runninghub_video.emulator"]  # from a package's __init__


def test_the_cycle_finder_finds_a_circle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set(), "d": {"a", "c"}}) is None


def test_no_module_of_the_pack_imports_itself_in_a_circle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " → ".join(cycle)


def _layer(module: str) -> int:
    parts = module.split(".")
    if parts[0] == "nodes":
        return len(LAYERS) + 1
    if len(parts) > 1 and parts[1] in LAYERS:
        return LAYERS.index(parts[1])
    return len(LAYERS)  # the package's entry points and the emulator


def test_imports_point_down_the_library_layers():
    upward = sorted(f"{module} → {target}" for module, targets in import_graph().items() for target in targets
                    if _layer(target) > _layer(module))
    assert upward == [], "imports from a higher layer:\n" + "\n".join(upward)


def test_tests_and_nodes_reach_the_pack_as_one_package():
    """``import runninghub_video`` / ``import nodes`` by their own names would load a second copy of
    a module beside the pack's (its own errors, settings and caches), so nodes and tests import
    relatively (a test file another one borrows from too); the library's entry points and bench/
    are the library used on its own."""
    absolute = []
    for path in sorted([*(PACK / "nodes").glob("*.py"), *(PACK / "tests").glob("test_*.py")]):
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if node.level == 0 else []
            absolute += [f"{path.relative_to(PACK).as_posix()}:{node.lineno} {name}" for name in names
                         if name.split(".")[0] in PACKAGES or name.startswith("test_")]
    assert absolute == [], "absolute imports of the pack:\n" + "\n".join(absolute)


def test_the_run_reads_the_journal_never_the_tab_s_inbox():
    """The inbox is the tab's read model (views of journal rows); the run, the budget and the core
    ask the journal itself, so the tab can change without touching how a run decides to pay."""
    graph = import_graph()
    readers = sorted(module for module, targets in graph.items() if "runninghub_video.ledger.inbox" in targets
                     and _layer(module) <= LAYERS.index("run") and module != "runninghub_video.ledger.inbox")
    assert readers == []
