"""The code folders are layers that import only downward (issue 19), so no folder-level cycle.

Every ``import`` counts, including those inside functions: each ``.py`` of each
folder is parsed with ``ast`` and each ``recogenre.<folder>`` it names is mapped
to its folder. The order is the one the folders' ``__init__`` docstrings state.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

# top to bottom; a folder may import the folders after it, never those before
LAYERS = ("recogenre", "apps", "pipeline", "transforms", "analysis")


def _imported(tree: ast.AST, folder: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: within its own package
                names.add(f"recogenre.{folder}")
            elif node.module:
                names.add(node.module)
                names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def _layer_of(name: str) -> str | None:
    parts = name.split(".")
    if parts[0] != "recogenre":
        return None
    if len(parts) > 1 and parts[1] in LAYERS:
        return parts[1]
    return "recogenre"  # the package itself, cli, commands, api


def folder_imports() -> dict[tuple[str, str], set[str]]:
    """(importing folder, imported folder) -> the files that import across."""
    edges: dict[tuple[str, str], set[str]] = {}
    for folder in LAYERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            for name in _imported(tree, folder):
                target = _layer_of(name)
                if target and target != folder:
                    edges.setdefault((folder, target), set()).add(str(path.relative_to(ROOT)))
    return edges


def test_folders_import_only_downward():
    edges = folder_imports()
    upward = {
        f"{src} -> {dst}": sorted(files)
        for (src, dst), files in edges.items()
        if LAYERS.index(dst) < LAYERS.index(src)
    }
    assert upward == {}
    # the check sees cross-folder imports at all (a parser that found none would pass anything)
    assert ("pipeline", "transforms") in edges and ("recogenre", "apps") in edges


def test_an_upward_import_inside_a_function_is_seen(tmp_path: Path):
    source = "def f():\n    from recogenre.apps import report\n    import recogenre.cli\n"
    names = _imported(ast.parse(source), "pipeline")
    assert {_layer_of(n) for n in names} == {"apps", "recogenre"}


PLUGIN = ROOT / "beetsplug"  # beets' namespace package: a layer above the whole package


def test_the_beets_plugin_sits_on_top_and_recogenre_needs_no_beets():
    """Nothing in the package imports the plugin, nor beets; the plugin imports recogenre."""
    for folder in LAYERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            names = _imported(ast.parse(path.read_text(), filename=str(path)), folder)
            roots = {name.split(".")[0] for name in names}
            assert not roots & {"beetsplug", "beets"}, f"{path.relative_to(ROOT)} imports beets or its plugin"
    (module,) = PLUGIN.glob("*.py")
    assert module.name == "recogenre.py" and not (PLUGIN / "__init__.py").exists()  # PEP 420, as beets wants
    names = _imported(ast.parse(module.read_text()), "beetsplug")
    assert {"recogenre", "recogenre.analysis"} <= {".".join(n.split(".")[:2]) for n in names}

    probe = ("import sys, recogenre, recogenre.api, recogenre.cli;"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('beets', 'beetsplug')))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd="/")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


STAGE_BASES = {"beam.DoFn", "beam.PTransform", "beam.CombineFn", "ModelHandler"}


def _stage_bases(tree: ast.AST) -> set[str]:
    """The Beam base classes the module's classes derive from (``ModelHandler[...]`` as ``ModelHandler``)."""
    classes = [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    bases = {ast.unparse(b).split("[")[0] for c in classes for b in c.bases}
    return bases & STAGE_BASES


def _uses_beam(tree: ast.AST) -> bool:
    return any(
        (isinstance(node, ast.Import) and any(a.name.split(".")[0] == "apache_beam" for a in node.names))
        or (isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "apache_beam")
        for node in ast.walk(tree)
    )


def test_transforms_holds_only_beam_stages():
    modules = [p for p in sorted((ROOT / "transforms").glob("*.py")) if p.name != "__init__.py"]
    assert modules
    for path in modules:
        tree = ast.parse(path.read_text())
        assert _uses_beam(tree), f"{path.name} uses no Beam: it belongs in analysis/"
        assert _stage_bases(tree), f"{path.name} defines no Beam stage"


def test_analysis_defines_no_beam_stage():
    for path in sorted((ROOT / "analysis").glob("*.py")):
        tree = ast.parse(path.read_text())
        assert not _stage_bases(tree), f"{path.name} defines a Beam stage: it belongs in transforms/"
