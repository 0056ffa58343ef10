"""The shape of the house (DESIGN.md): imports point one way, chapters stay apart from the
core, and notebooks only set parameters, call the library, plot, glue and check."""
import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "badgerlib"
SHARED_CHAPTER_MODULES = {"badgerlib.chapters.standard", "badgerlib.chapters.phases"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def badgerlib_imports(path: Path) -> set[str]:
    """Every badgerlib module a file imports, at any depth of the file (function-level too)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("badgerlib")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("badgerlib"):
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names
                    if (PACKAGE.parent / f"{node.module}.{a.name}".replace(".", "/")).with_suffix(".py").exists()}
    return out


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


@pytest.mark.parametrize("name", sorted(n for n in MODULES if not n.startswith("badgerlib.chapters")))
def test_the_core_never_imports_a_chapter(name):
    assert not {m for m in badgerlib_imports(MODULES[name]) if m.startswith("badgerlib.chapters")}


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("badgerlib.chapters.")))
def test_a_chapter_imports_the_core_and_at_most_the_shared_chapter_modules(name):
    chapters = {m for m in badgerlib_imports(MODULES[name]) if m.startswith("badgerlib.chapters.")}
    assert chapters <= SHARED_CHAPTER_MODULES - {name}, f"{name} imports {sorted(chapters)}"


def test_the_core_has_no_import_cycles():
    graph = {n: {m for m in badgerlib_imports(p) if m in MODULES and m != n and m != "badgerlib"}
             for n, p in MODULES.items() if n != "badgerlib"}
    state: dict[str, int] = {}

    def visit(node, trail):
        if state.get(node) == 1:
            raise AssertionError(f"import cycle: {' -> '.join(trail + [node])}")
        if state.get(node) == 2:
            return
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            visit(nxt, trail + [node])
        state[node] = 2

    for node in sorted(graph):
        visit(node, [])


def test_checks_imports_nothing_from_the_rest():
    assert badgerlib_imports(MODULES["badgerlib.checks"]) == set()


@pytest.mark.parametrize("notebook", sorted((ROOT / "book").glob("*.ipynb")), ids=lambda p: p.stem)
def test_notebooks_are_thin(notebook):
    cells = json.loads(notebook.read_text())["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    lines = sum(1 for c in code for line in c.splitlines() if line.strip() and not line.strip().startswith("#"))
    defs = sum(1 for c in code for line in c.splitlines() if line.lstrip().startswith("def "))
    assert lines <= 150, f"{notebook.name}: {lines} code lines; move the work into its chapter module"
    assert defs <= 1, f"{notebook.name}: {defs} function definitions (one widget callback at most)"


#: Characters of code the book's column shows without a scroll bar (sphinx-book-theme, measured
#: in a headless browser: an 81-character line was cut).
CODE_WIDTH = 80


@pytest.mark.parametrize("notebook", sorted((ROOT / "book").glob("*.ipynb")), ids=lambda p: p.stem)
def test_notebook_code_fits_the_column_and_figures_are_numbered(notebook):
    """Every code line fits the book's column, every figure a code cell draws is numbered by
    the book (a caption and a name in its ``mystnb.figure`` metadata), and no caption is typed
    by hand in the text ("*Figure 5.1." or "*Table 5.2.")."""
    cells = json.loads(notebook.read_text())["cells"]
    long = [line for c in cells if c["cell_type"] == "code" for line in "".join(c["source"]).splitlines()
            if len(line) > CODE_WIDTH]
    assert not long, f"{notebook.name}: {len(long)} code lines over {CODE_WIDTH} characters, e.g. {long[0]!r}"
    for c in cells:
        source = "".join(c["source"])
        if c["cell_type"] == "code" and "plt.show()" in source:
            figure = c["metadata"].get("mystnb", {}).get("figure", {})
            assert figure.get("caption") and figure.get("name", "").startswith("fig-"), (
                f"{notebook.name}: a figure cell without a numbered caption: {source[:80]!r}")
        if c["cell_type"] == "markdown":
            assert not re.search(r"^\*(Figure|Table) [0-9A]+\.[0-9]+", source, re.MULTILINE), (
                f"{notebook.name}: a hand-typed caption: {source[:80]!r}")


@pytest.mark.parametrize("notebook", sorted((ROOT / "book").glob("*.ipynb")), ids=lambda p: p.stem)
def test_every_figure_and_table_is_referenced_in_the_text(notebook):
    """A numbered figure or table that no sentence points to is one the reader is left to
    interpret alone: each label (a figure cell's ``mystnb.figure.name``, a ``plots.table`` name,
    a ``:name:`` of a Markdown table) appears in a ``{numref}`` of the notebook's text."""
    cells = json.loads(notebook.read_text())["cells"]
    text = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    code = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    labels = {c["metadata"].get("mystnb", {}).get("figure", {}).get("name") for c in cells} - {None}
    labels |= set(re.findall(r'"(tbl-[\w-]+)"', code)) | set(re.findall(r":name: ((?:fig|tbl)-[\w-]+)", text))
    assert labels, f"{notebook.name} has no numbered figure or table"
    unreferenced = sorted(label for label in labels if not re.search(rf"`(?:[^`<]*<)?{label}>?`", text))
    assert not unreferenced, f"{notebook.name}: never referenced with {{numref}}: {unreferenced}"
