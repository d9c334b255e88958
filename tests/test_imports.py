"""The arrows between mammocad's parts point one way (read with ast: module-level and in-function imports).

Stages in data-flow order may import earlier stages only; the pipeline composes
them; the CLI and the viewer are faces over the pipeline; nothing finds its own
parts with importlib. ``python tests/test_imports.py`` prints the graph as
``docs/architecture.md`` shows it.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "mammocad"
DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"

#: The stages, in the order data flows through them.
STAGES = ("io", "datasets", "synth", "segment", "features", "models", "evaluation", "report", "export")
#: Helpers any part may import.
UTILITIES = ("mammocad", "errors", "_fileio", "_resample", "parallel")
#: What the faces (CLI, viewer) may import besides the pipeline and the utilities.
FACE_ALLOWED = ("pipeline", "io", "datasets", "synth", "features.registry", "viewer")


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, int]]:
    """(imported module, line) for every import of the file, wherever it stands."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module == "importlib":  # `from importlib import metadata` is importlib.metadata
                found += [(f"importlib.{alias.name}", node.lineno) for alias in node.names]
                continue
            found.append((module, node.lineno))
            if module == "mammocad":  # `from mammocad import features` names a part too
                found += [
                    (f"mammocad.{alias.name}", node.lineno)
                    for alias in node.names
                    if (SRC / alias.name).is_dir() or (SRC / f"{alias.name}.py").is_file()
                ]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "__import__":
            found.append(("__import__", node.lineno))
    return found


def _part(module: str) -> str | None:
    """The part of mammocad a module belongs to (``features``, ``cli`` ...), None outside it."""
    if module == "mammocad":
        return "mammocad"
    if not module.startswith("mammocad."):
        return None
    return module.split(".")[1]


def _files() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def import_graph() -> dict[str, set[str]]:
    """Part → parts it imports (other than itself)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for path in _files():
        source = _part(_module_name(path))
        for module, _ in _imports(path):
            target = _part(module)
            if target is not None and target != source and source is not None:
                graph[source].add(target)
    return dict(graph)


def graph_markdown() -> str:
    graph = import_graph()
    width = max(len(p) for p in graph)
    lines = [f"{part:<{width}} -> {', '.join(sorted(graph[part]))}" for part in sorted(graph)]
    return "\n".join(lines) + "\n"


def _violations() -> list[str]:
    out = []
    for path in _files():
        module = _module_name(path)
        source = _part(module)
        where = path.relative_to(SRC.parent)
        for imported, line in _imports(path):
            at = f"{where}:{line} imports {imported}"
            if imported == "__import__" or imported == "importlib" or imported.startswith("importlib."):
                if not imported.startswith("importlib.metadata"):
                    out.append(f"{at}: find the parts by plain imports, not by computed names")
                continue
            target = _part(imported)
            if target is None or target == source or target in UTILITIES:
                continue
            if source in STAGES:
                if target == "pipeline":
                    out.append(f"{at}: a stage never knows the pipeline")
                elif target in ("cli", "viewer"):
                    out.append(f"{at}: the library never imports the command line or the viewer")
                elif target in STAGES and STAGES.index(target) > STAGES.index(source):
                    out.append(f"{at}: a stage imports only earlier stages ({' < '.join(STAGES)})")
                if source == "models" and target in ("features", "segment", "io", "evaluation"):
                    out.append(
                        f"{at}: models take arrays; they import none of features, segment, io, evaluation"
                    )
                if source == "report" and target in ("io", "datasets", "synth", "segment"):
                    out.append(
                        f"{at}: the report draws the results it is handed (it reads and segments nothing)"
                    )
            elif source in UTILITIES and target not in UTILITIES:
                out.append(f"{at}: a utility imports no stage")
            elif source == "pipeline" and target in ("cli", "viewer"):
                out.append(f"{at}: the pipeline never imports the command line or the viewer")
            elif source in ("cli", "viewer"):
                name = imported[len("mammocad.") :]
                if not any(name == ok or name.startswith(ok + ".") for ok in FACE_ALLOWED):
                    out.append(f"{at}: the CLI and the viewer go through mammocad.pipeline")
                if source == "viewer" and target == "cli":
                    out.append(f"{at}: the viewer never imports the command line")
    return out


def test_every_part_is_known():
    parts = {_part(_module_name(p)) for p in _files()} - {"__main__"}
    known = set(STAGES) | set(UTILITIES) | {"pipeline", "cli", "viewer"}
    assert parts <= known, f"new part(s) {sorted(parts - known)}: place them in STAGES or UTILITIES"


def test_arrows_point_one_way():
    assert _violations() == []


def test_the_rules_catch_what_they_forbid(tmp_path, monkeypatch):
    """Each rule fires on a file that breaks it (so the test above can fail)."""
    bad = {
        "segment/_bad.py": "from mammocad.features import FEATURES\n",  # a later stage
        "features/_bad.py": "def f():\n    from mammocad.pipeline import analyse_lesion\n",  # pipeline, in a function
        "report/_bad.py": "from mammocad.viewer import create_app\n",  # the library imports a face
        "models/_bad.py": "import mammocad.io\n",  # models take arrays
        "evaluation/_bad.py": "import importlib\nimportlib.import_module('mammocad.models')\n",
        "viewer/_bad.py": "from mammocad.segment import render_overlay\n",  # a face around the pipeline
        "errors/_bad.py": "from mammocad.io import ROI\n",
        "report/_reads.py": "def f(path):\n    from mammocad.io import read_mammogram\n",
    }
    root = tmp_path / "mammocad"
    for name, text in bad.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    monkeypatch.setattr(sys.modules[__name__], "SRC", root)
    found = "\n".join(_violations())
    for fragment in (
        "segment/_bad.py:1 imports mammocad.features: a stage imports only earlier stages",
        "features/_bad.py:2 imports mammocad.pipeline: a stage never knows the pipeline",
        "report/_bad.py:1 imports mammocad.viewer: the library never imports",
        "models/_bad.py:1 imports mammocad.io: models take arrays",
        "evaluation/_bad.py:1 imports importlib: find the parts by plain imports",
        "viewer/_bad.py:1 imports mammocad.segment: the CLI and the viewer go through mammocad.pipeline",
        "errors/_bad.py:1 imports mammocad.io: a utility imports no stage",
        "report/_reads.py:2 imports mammocad.io: the report draws the results it is handed",
    ):
        assert fragment in found, found


def test_architecture_doc_shows_the_real_graph():
    if not DOC.is_file():
        pytest.skip(f"{DOC} not found")
    assert graph_markdown() in DOC.read_text(encoding="utf-8"), (
        "docs/architecture.md does not show the current import graph: "
        "paste the output of `python tests/test_imports.py` into its 'after' block"
    )


if __name__ == "__main__":
    sys.stdout.write(graph_markdown())
