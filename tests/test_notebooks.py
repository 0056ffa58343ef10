"""Every chapter runs headless through papermill (quick mode), and the book builds from the
executed notebooks without executing them a second time.

The executed notebooks go to ``_build/executed/book/``; the staged book (the sources with the
executed notebooks and execution switched off) builds into ``_build/executed/_build/html``.
"""
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import papermill
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
STAGE = ROOT / "_build" / "executed"
NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))

# pyproject runs pytest-xdist with --dist loadgroup: each chapter is a group of its own (or of the
# chapter whose runs it reads, SHARES_RUNS_WITH), so the
# chapters spread over both workers (the notebooks are most of the suite's time; conftest.py
# starts the longest first), and the book build, a group of its own too and the last test,
# waits for the chapters this session executes (their ``.done`` markers, tagged with the
# session's token) and executes only the ones this session skips.
pytestmark = pytest.mark.notebooks

#: Chapters that read runs another chapter trains run in that chapter's group, after it, on the
#: same worker: they find its runs stored instead of training them twice at the same time. (Not
#: honoured by pytest-xdist 3.8 under pytest 9.2, issue #1386 there: the two chapters may run at
#: once on both workers, and the second to reach a shared run waits on its run lock and loads it.)
SHARES_RUNS_WITH = {"07_topology": "06_binding_information", "08_landscape": "02_plateaus"}

#: Set by the controlling pytest process (tests/conftest.py) and inherited by its workers.
SESSION = os.environ.get("BADGER_TEST_SESSION", "")


def execute(notebook: Path) -> Path:
    """Run ``notebook`` headless into the stage; its ``.done`` marker says how it ended, for the
    book build on the other worker."""
    out = STAGE / "book" / notebook.name
    out.parent.mkdir(parents=True, exist_ok=True)
    marker = out.with_suffix(".done")
    marker.unlink(missing_ok=True)
    env_mode = os.environ.get("BADGER_MODE", "quick")
    os.environ["BADGER_MODE"] = env_mode  # the kernel inherits it
    # Two chapters run at once (one per worker), each training in its kernel or in worker
    # processes: a kernel on two OpenMP threads beside them runs many times slower
    # (oversubscription), so every kernel gets one thread.
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        papermill.execute_notebook(str(notebook), str(out), kernel_name="python3", cwd=str(BOOK),
                                   progress_bar=False, execution_timeout=3600)
    except BaseException:
        marker.write_text(f"{SESSION} failed")
        raise
    marker.write_text(f"{SESSION} ok")
    return out


def wait_for(notebook: Path, timeout: float = 3600.0) -> None:
    """Wait until this session's run of ``notebook`` (another worker's test) has ended; fail if
    it failed."""
    marker = STAGE / "book" / notebook.with_suffix(".done").name
    start = time.monotonic()
    while not (marker.exists() and marker.read_text().startswith(SESSION + " ")):
        assert time.monotonic() - start < timeout, f"{notebook.name} did not finish within {timeout:.0f} s"
        time.sleep(2)
    assert marker.read_text() == f"{SESSION} ok", f"{notebook.name} failed: no book without it"


def test_every_chapter_is_in_the_table_of_contents():
    toc = (ROOT / "_toc.yml").read_text()
    for nb in NOTEBOOKS:
        assert f"book/{nb.stem}" in toc, f"{nb.name} is not in _toc.yml"


@pytest.mark.parametrize("notebook", [pytest.param(nb, marks=pytest.mark.xdist_group(SHARES_RUNS_WITH.get(nb.stem, nb.stem)))
                                      for nb in NOTEBOOKS],
                         ids=[nb.stem for nb in NOTEBOOKS])
def test_notebook_runs_and_checks_its_finding(notebook):
    source = nbformat.read(notebook, as_version=4)
    code = [c for c in source.cells if c.cell_type == "code"]
    assert any(c.outputs for c in code) is False, f"{notebook.name} is committed with outputs"
    assert "parameters" in code[0].metadata.get("tags", []), "the first code cell must be tagged 'parameters'"
    assert any(c.source.lstrip().startswith("# finding check") for c in code), "no '# finding check' cell"
    executed = nbformat.read(execute(notebook), as_version=4)
    errors = [o for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors


@pytest.mark.xdist_group("book")
def test_book_builds_from_the_executed_notebooks(request):
    """Stage the book sources with the executed notebooks, switch execution off, and build with
    warnings as errors (a missing figure, a broken glue reference or cross-reference fails)."""
    running = {item.callspec.id for item in request.session.items
               if getattr(item, "originalname", "") == "test_notebook_runs_and_checks_its_finding"}
    for nb in NOTEBOOKS:
        if nb.stem in running and SESSION:   # this session runs it (maybe on the other worker)
            wait_for(nb)
        elif not (STAGE / "book" / nb.name).exists() or (STAGE / "book" / nb.name).stat().st_mtime < nb.stat().st_mtime:
            execute(nb)                       # deselected, and not executed since it changed
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"
    (STAGE / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    shutil.copy(ROOT / "_toc.yml", STAGE / "_toc.yml")
    shutil.copy(ROOT / "references.bib", STAGE / "references.bib")
    for page in BOOK.glob("*.md"):
        shutil.copy(page, STAGE / "book" / page.name)
    shutil.rmtree(STAGE / "_static", ignore_errors=True)  # no stale script (Jupyter Book adds each one to every page)
    for assets in ("_static", "_extra"):
        shutil.copytree(ROOT / assets, STAGE / assets, dirs_exist_ok=True)
    for asset in ("_extra/widgets/embed.js", "_extra/widgets/1551f4f60c37af51121f.woff2", "_extra/mathjax/tex-svg.js"):
        assert (STAGE / asset).exists(), f"run `make` first: {asset} is fetched by the Makefile"
    shutil.rmtree(STAGE / "_build", ignore_errors=True)
    jb = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run([str(jb), "build", str(STAGE), "-W", "--keep-going"], capture_output=True, text=True)
    problems = [line for line in (result.stdout + result.stderr).splitlines() if "WARNING" in line or "ERROR" in line]
    assert result.returncode == 0, "\n".join(problems) or result.stderr[-4000:]
    html = STAGE / "_build" / "html"
    for nb in NOTEBOOKS:
        page = (html / "book" / f"{nb.stem}.html").read_text()
        assert "<img" in page, f"{nb.stem}.html has no figure"
        assert "Traceback" not in page
    read_as_a_reader(html)


#: What a reader must never meet on a page: numpy reprs and dicts printed as they come.
DEBUG_OUTPUT = re.compile(r"np\.(float|int|str_|bool_)\w*\(|\{&#39;\w+&#39;: ")
#: A script, stylesheet or font fetched from another host (the book renders offline).
REMOTE = re.compile(r"<(?:script|link|img)\b[^>]*(?:src|href)=\"(?:https?:)?//", re.IGNORECASE)


def read_as_a_reader(html: Path) -> None:
    """The built pages as a reader meets them: every chapter numbers its figures ("Figure
    5.1") and its tables, every cross-reference resolved to a number, no debug output, no
    remote asset, a bibliography that each chapter cites, and a landing page whose findings
    table holds a verdict for every chapter."""
    bibliography = html / "book" / "bibliography.html"
    assert bibliography.exists(), "no bibliography page"
    for nb in NOTEBOOKS:
        page = (html / "book" / f"{nb.stem}.html").read_text()
        number = r"[0-9]+" if nb.stem.startswith("appendix") else r"[0-9]+\.[0-9]+"
        assert re.search(rf'caption-number">Figure {number} ', page), f"{nb.stem}: no book-numbered figure"
        images = page.count("<img")
        figures = len(re.findall(r'caption-number">Figure ', page))
        assert figures >= images - page.count("widget"), f"{nb.stem}: {images} images, {figures} numbered"
        assert "std-numref" in page or figures == 1, f"{nb.stem}: no figure or table is referenced by number"
        bad = DEBUG_OUTPUT.search(page)
        assert not bad, f"{nb.stem}: debug output on the page: {page[bad.start():bad.start() + 80]!r}"
        remote = REMOTE.search(page)
        assert not remote, f"{nb.stem}: remote asset {page[remote.start():remote.start() + 120]!r}"
        assert 'href="bibliography.html#' in page, f"{nb.stem} cites nothing"
    intro = (html / "book" / "intro.html").read_text()
    rows = re.findall(r'<td><p><a class="reference internal" href="(\w+)\.html">', intro)
    assert sorted(rows) == sorted(nb.stem for nb in NOTEBOOKS), rows
    verdicts = re.findall(r'class="pasted-text">(Reproduced|Partly|Not reproduced|Validated)', intro)
    assert len(verdicts) == len(NOTEBOOKS), f"findings table: {len(verdicts)} verdicts for {len(NOTEBOOKS)} chapters"
    assert "planned" not in intro.lower(), "the landing page still lists planned work"
