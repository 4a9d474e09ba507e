"""The Jupyter Book: built once (offline, warnings as errors) and read as a reader would get it.

The build (about two minutes on two cores) runs every page against the results files present in
the repository, into a temporary folder (book/_build is left alone), once per test session even
with several xdist workers (a file lock in the folder the workers share).
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from filelock import FileLock

bs4 = pytest.importorskip("bs4")

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
CHAPTERS = [
    "introduction",
    "method",
    "architecture",
    "data",
    "training",
    "regime",
    "results",
    "attention",
    "scale",
    "probe",
    "performance",
    "reproduce",
]
# One page per experiment under Results, each beside the paper's table it answers.
EXPERIMENT_PAGES = {
    "plugin_position": "supp-table2",
    "attention_variants": "table1",
    "attention_designs": "table2",
    "embedding_functions": "table4",
}
# Under Results after the experiment pages: why RGA-SC does not train from scratch.
# The appendix: the from-scratch study, and the spec of the official code the book cites.
PAGES = [*CHAPTERS[:7], *EXPERIMENT_PAGES, *CHAPTERS[7:], "from_scratch", "official_spec"]
# A number printed with pandas' default precision ("2.340000"), or a missing value.
RAW = re.compile(r"^-?\d+\.\d{5,}$|^(nan|NaN|None|<NA>|NaT)$")


def _has_results(experiment: str = "*") -> bool:
    return any((ROOT / "experiments" / "results").glob(f"{experiment}/*.json"))


@pytest.fixture(scope="module")
def html(tmp_path_factory) -> Path:
    """The book built once per test session, also when pytest-xdist runs several workers:
    they share the folder above their own temporary folders, and a file lock."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    out = base / "book"
    index = out / "_build" / "html" / "index.html"
    with FileLock(str(base / "book.lock")):
        if not index.exists():
            _build_book(out)
    return index.parent


def _build_book(out: Path) -> None:
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    # the committed results only: no preview folders from the environment
    env = {k: v for k, v in os.environ.items() if not k.startswith("RGA_")}
    proc = subprocess.run(
        [
            str(jupyter_book),
            "build",
            str(BOOK),
            "-W",
            "-n",
            "--keep-going",
            "--path-output",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=1200,
        cwd=ROOT,
        env=env,
    )
    assert proc.returncode == 0, f"book build failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-4000:]}"


def _soup(html: Path, page: str):
    return bs4.BeautifulSoup((html / f"{page}.html").read_text(encoding="utf-8"), "html.parser")


def _section(html: Path, page: str, section_id: str):
    """The section of a built page with that id (which must exist)."""
    section = _soup(html, page).find("main").find(id=section_id)
    assert section is not None, (page, section_id)
    return section


def _main_text(html: Path, page: str) -> str:
    return _soup(html, page).find("main").get_text(" ", strip=True)


@pytest.mark.slow
class TestBuiltBook:
    """Checks on the HTML of one build (the module-scoped fixture `html`)."""

    def test_every_chapter_is_built_in_order(self, html):
        for page in PAGES:
            assert (html / f"{page}.html").is_file(), page
        assert (html / "index.html").is_file()
        nav = [
            a["href"]
            for a in _soup(html, "introduction").select("nav.bd-docs-nav a.reference.internal")
        ]
        assert [h.removesuffix(".html") for h in nav] == PAGES[1:]

    def test_no_page_shows_an_error(self, html):
        for path in html.glob("*.html"):
            text = path.read_text(encoding="utf-8")
            assert "Traceback" not in text, path.name
            assert "CellExecutionError" not in text, path.name
            soup = bs4.BeautifulSoup(text, "html.parser")
            assert not soup.select("div.output.traceback, div.output.error, div.output.stderr"), (
                path.name
            )

    def test_pages_load_nothing_from_the_network(self, html):
        assert (html / "_static" / "mathjax" / "tex-chtml.js").is_file()
        for page in CHAPTERS:
            soup = _soup(html, page)
            mathjax = [
                s["src"] for s in soup.find_all("script", src=True) if "mathjax" in s["src"].lower()
            ]
            assert set(mathjax) <= {"_static/mathjax/tex-chtml.js"}, (page, mathjax)
            if soup.select("div.math, span.math"):
                assert mathjax, f"{page} has equations but loads no MathJax"
            for tag, attr in (
                ("script", "src"),
                ("link", "href"),
                ("img", "src"),
                ("iframe", "src"),
            ):
                for node in soup.find_all(tag, **{attr: True}):
                    assert not node[attr].startswith(("http:", "https:", "//")), (page, node[attr])
            text = str(soup)
            for host in ("unpkg.com", "cdn.jsdelivr", "cdnjs.", "mybinder", "fonts.googleapis"):
                assert host not in text, (page, host)

    def test_method_page_has_the_equations_and_the_parity_check(self, html):
        soup = _soup(html, "method")
        display_math = soup.select("div.math")
        assert len(display_math) >= 10
        numbered = [m for m in display_math if m.get("id", "").startswith("equation-")]
        assert len(numbered) >= 4  # relation vector, y_i, the paper's head, the code's head, ...
        assert any("W_a K^{\\top}" in m.get_text() for m in display_math)
        tables = soup.find("main").find_all("table")
        parity = tables[-1].get_text(" ")
        assert "train" in parity and "eval" in parity and "e-0" in parity  # tiny differences

    def test_architecture_page_regenerates_table1(self, html):
        soup = _soup(html, "architecture")
        table = next(t for t in soup.find("main").find_all("table") if "attention4" in t.get_text())
        cells = table.get_text(" ")
        assert "16 × 8 × 2048" in cells and "64 × 32 × 256" in cells
        assert cells.count("✓") == 14 and "✗" not in cells
        text = _main_text(html, "architecture")
        assert "19.65" in text and "8.11" in text  # the spec's numbers next to ours

    def test_data_page_shows_counts_and_synthreid_samples(self, html):
        soup = _soup(html, "data")
        assert len(soup.find("main").find_all("img")) >= 2  # the sample grid and the augmentations
        text = _main_text(html, "data")
        assert "12,936" in text and "32,621" in text  # Market-1501 and MSMT17 training images

    def test_training_page_draws_the_schedule_and_lists_every_difference(self, html):
        soup = _soup(html, "training")
        assert soup.find("main").find_all("img")
        text = _main_text(html, "training")
        topics = pd.read_csv(BOOK / "discrepancies.csv", dtype=str, keep_default_na=False)["topic"]
        missing = [t for t in topics if t not in text]
        assert not missing, missing
        links = [a["href"] for a in soup.find("main").find_all("a", href=True)]
        assert any(h.startswith("official_spec.html") for h in links)  # the spec it cites

    def test_regime_page_shows_the_trunk_the_rule_and_its_outcome(self, html):
        import json

        from rga.study import regime
        from rga.study.report.runs import load_runs

        soup = _soup(html, "regime")
        assert soup.find("main").find_all("img")  # the loss curves
        text = _main_text(html, "regime")
        manifest = json.loads((ROOT / "experiments" / "pretrained" / "trunk.json").read_text())
        assert manifest["sha256"] in text and "trained enough" in text
        choice = json.loads((ROOT / "experiments" / "regime" / "choice.json").read_text())
        # the grid's runs, as the page reads them (gamma = 1; the official-init check is apart)
        table = regime.convergence_table(load_runs("regime", profiles=("pretrained-ones",)))
        assert choice["schedule_name"] == regime.choose_schedule(table)  # the committed choice
        if choice["schedule"] is None:
            assert "no schedule of the grid has converged" in text
        assert "mAP" not in text  # the grid's test metrics stay unseen

    def test_each_experiment_page_sets_the_papers_table_beside_ours(self, html):
        paper = pd.read_csv(BOOK / "paper_numbers.csv", dtype=str, keep_default_na=False)
        for page, table_id in EXPERIMENT_PAGES.items():
            main = _soup(html, page).find("main")
            assert main.find_all("img"), f"{page}: the gains plot is drawn even without our runs"
            tables = main.select("div.cell_output table")
            table = next(t for t in tables if "CUHK03 (L), paper" in t.get_text())
            for value in paper.loc[paper["table"] == table_id, "value"]:
                assert value in table.get_text(" "), (page, value)
            ordering = next(t for t in tables if "rank" in t.get_text())
            assert "paper, Market-1501" in ordering.get_text()
            text = main.get_text(" ")
            assert "never a reproduction" in text, page
            if _has_results(page):
                assert "ours" in table.get_text(" "), page
                # an ordering needs two of our settings; a table whose other settings are still
                # training (only the runs it shares with another experiment) says so instead
                one_setting = "Our runs share fewer than two settings with the paper's table"
                assert "Kendall" in text or one_setting in text, page
            else:  # a plain sentence, not a "Missing" box
                assert "Our runs of this experiment are pending" in text, page
                assert not main.select("div.rga-notice"), page
        results = _main_text(html, "results")
        assert "81.1 / 77.4" in results and "80.4 / 76.5" in results  # final vs supp. Table 2

    def test_no_table_shows_a_raw_float_a_missing_value_or_an_escape(self, html):
        for page in PAGES:
            for table in _soup(html, page).select("main div.cell_output table"):
                for cell in table.find_all(["td", "th"]):
                    text = cell.get_text(" ", strip=True)
                    assert not RAW.search(text), (page, text)
                    assert "\\n" not in text, (page, text)  # a newline pandas escaped

    def test_tables_and_figures_use_the_glossarys_labels(self, html):
        from rga.study.report import labels

        # the names results files and old pages used for settings and scores (the glossary
        # quotes the supplementary's own "ResBlock conv2,3,4,5_x" once, as the paper's name)
        stale = ("RGA-SC (no relation)", "RGA-SC conv2,3,4,5_x", "mass_on_person", "(att4)")
        for page in PAGES:
            for table in _soup(html, page).select("main div.cell_output table"):
                text = table.get_text(" ")
                for old in stale:
                    assert old not in text, (page, old)
                if page != "introduction":
                    assert "conv2,3,4,5_x" not in text and "1,2,3,4" not in text, page
        known = {labels.setting_label(k, p) for k in labels.KIND_LABELS for p in ("1,2,3,4",)}
        known |= {labels.setting_label("rga-sc", p) for p in ("1", "2", "3", "4")}
        known |= {labels.setting_label("rga-sc", "1,2,3,4", e) for e in ("none", "symmetric")}
        for page in EXPERIMENT_PAGES:
            table = next(
                t
                for t in _soup(html, page).select("main div.cell_output table")
                if "CUHK03 (L), paper" in t.get_text()
            )
            rows = {th.get_text(strip=True) for th in table.select("tbody th.row_heading")}
            assert rows and rows <= known, (page, rows - known)

    def test_results_dependent_pages_show_content_or_say_what_is_missing(self, html):
        for page in ("introduction", "attention", "probe", "performance", "reproduce", "results"):
            main = _soup(html, page).find("main")
            has_content = bool(main.select("div.cell_output table, div.cell_output img"))
            has_notice = bool(main.select("div.rga-notice"))
            assert has_content or has_notice, page
        if not _has_results():
            for page in ("introduction", "attention", "reproduce"):
                notices = _soup(html, page).select("div.rga-notice p.admonition-title")
                assert any(n.get_text().startswith("Missing") for n in notices), page

    def test_probe_page_draws_saved_views_and_says_how_to_get_the_rest(self, html):
        main = _soup(html, "probe").find("main")
        text = main.get_text(" ", strip=True)
        assert not [n for n in main.select("div.rga-notice") if "Missing" in n.get_text()]
        assert "Missing" not in text and "Traceback" not in text
        assert main.select("div.cell_output img"), "the saved views are drawn"
        relations = _saved_relations("rga-sc")
        if relations:  # the figures of the saved relation rows and columns, one per image
            assert "Drawn from the arrays the study saved" in text
            assert len(main.select("div.cell_output img")) >= 3
        code = "\n".join(pre.get_text() for pre in main.select("div.cell_output pre"))
        if not relations:  # says which run writes them, and how
            assert (
                "python -m rga.study.train pretrained kind=rga-sc positions=1,2,3,4 seed=0" in code
            )
        assert "jupyter lab book/probe.ipynb" in text  # the sliders: how to get them

    def test_probe_page_embeds_the_browser_probe_and_only_it_loads_it(self, html):
        """The viewer needs no kernel: its script, style and data are in _static/probe/, loaded
        by the Probe page (relative paths, no network) and by no other page."""
        main = _soup(html, "probe").find("main")
        assert main.select("div[data-rga-probe]"), "the viewer's container"
        sources = [s["src"].split("?")[0] for s in main.find_all("script", src=True)]
        assert sources == ["_static/probe/probe-data.js", "_static/probe/viewer.js"]
        for name in ("probe-data.js", "viewer.js", "viewer.css"):
            assert (html / "_static" / "probe" / name).is_file(), name
        data = (html / "_static" / "probe" / "probe-data.js").stat().st_size
        assert data < 4e6, f"the viewer's data is {data / 1e6:.1f} MB"
        for page in PAGES:
            if page != "probe":
                assert "_static/probe/" not in (html / f"{page}.html").read_text(), page

    def test_attention_page_gives_figure2_in_numbers(self, html):
        section = _section(
            html, "attention", "figure-2-in-numbers-does-each-region-get-one-attention-level"
        )
        text = section.get_text(" ", strip=True)
        if _has_record_key("attention_parts"):
            assert "variance explained" in text and "RGA-SC1 (after conv2_x): the" in text
        else:
            assert "The study's runs fill this table" in text and "papermill" in text
        assert not [n for n in section.select("div.rga-notice") if "Missing" in n.get_text()]

    def test_from_scratch_page_checks_the_explanations_against_the_runs(self, html):
        text = _section(
            html, "from_scratch", "the-three-explanations-against-the-numbers"
        ).get_text(" ", strip=True)
        if _comparison_files("from_scratch/*.json"):
            for check in ("Scale.", "Selection.", "Gradient.", "What the numbers say."):
                assert check in text
            assert _soup(html, "from_scratch").select("main div.cell_output img"), "the diagnostics"
        else:
            assert "once the runs from scratch exist" in text

    def test_results_page_shows_ranked_lists_or_says_when_they_appear(self, html):
        section = _section(html, "results", "ranked-lists")
        if _comparison_files("*/attention/*.ranked.json"):
            assert section.select("div.cell_output img")
        else:
            assert "The ranked lists appear here when the study has recorded" in section.get_text()
        assert not section.select("div.rga-notice")


def _saved_relations(kind: str) -> bool:
    import numpy as np

    for path in _comparison_files("*/attention/*.npz"):
        with np.load(path) as data:
            if kind in str(data["meta"]) and any(k.startswith("relation_row_") for k in data.files):
                return True
    return False


def _has_record_key(key: str) -> bool:
    return any(key in json.loads(p.read_text()) for p in _comparison_files("*/*.json"))


def _comparison_files(pattern: str) -> list[Path]:
    """Committed results files of the comparisons (not the set-up's: trunk, schedule grid)."""
    from rga.study.report.paths import SET_UP_EXPERIMENTS

    found = (ROOT / "experiments" / "results").glob(pattern)
    return [
        p
        for p in found
        if p.relative_to(ROOT / "experiments" / "results").parts[0] not in SET_UP_EXPERIMENTS
    ]


def test_the_interactive_probe_is_installed_with_the_project():
    """`jupyter lab book/probe.ipynb` needs JupyterLab: the notebooks extra (which the book and
    dev extras include, and `make` installs) names it."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    assert any(d.startswith("jupyterlab") for d in extras["notebooks"])
    assert "rga[notebooks]" in extras["book"] and "rga[book]" in extras["dev"]


def test_probe_notebook_is_committed_without_outputs():
    notebook = json.loads((BOOK / "probe.ipynb").read_text(encoding="utf-8"))
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    assert all(not c["outputs"] and c["execution_count"] is None for c in code)
    tags = [c["metadata"].get("tags", []) for c in code]
    assert ["parameters"] in tags  # papermill/Jupyter parameters cell
    assert any("skip-execution" in t for t in tags)  # the widgets run in Jupyter only


def test_book_config_is_offline():
    config = (BOOK / "_config.yml").read_text(encoding="utf-8")
    assert "sphinx-mathjax-offline" in config and "nb_ipywidgets_js: {}" in config
    assert "execute_notebooks: force" in config and "thebe: false" in config
    toc = (BOOK / "_toc.yml").read_text(encoding="utf-8")
    assert [
        line.split("file:")[1].strip() for line in toc.splitlines() if "file:" in line
    ] == PAGES[1:]


def _spec_places(spec: str) -> set[str]:
    """The places a "spec" citation can name: its numbered sections ("1.7", "3") and the
    numbered items of sections 0 and 4 ("0.8": fact 8, "4.11": item 11)."""
    places = set(re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", spec, flags=re.M))
    for section in ("0", "4"):
        body = spec.split(f"\n## {section}. ", 1)[1].split("\n## ", 1)[0]
        places |= {f"{section}.{n}" for n in re.findall(r"^(\d+)\. ", body, flags=re.M)}
    return places


def test_every_spec_citation_names_a_place_in_the_shipped_spec():
    """The book and the package cite the official code as "spec 1.7"; the spec is shipped as
    the appendix page ``book/official_spec.md``, so every citation must name a place in it."""
    places = _spec_places((BOOK / "official_spec.md").read_text(encoding="utf-8"))
    assert {"0.8", "1.7", "2.2", "3", "4.11", "5"} <= places  # the parser reads the page
    citation = re.compile(r"\bspec ((?:\d+(?:\.\d+)?(?:[-/–]\d+(?:\.\d+)?)?(?:, )?)+)")
    sources = [*(ROOT / "rga").rglob("*.py"), *BOOK.glob("*.md"), *BOOK.glob("*.csv")]
    wrong = []
    for path in sources:
        for match in citation.finditer(path.read_text(encoding="utf-8")):
            for place in re.split(r", |[-/–]", match.group(1).rstrip(", ")):
                if place not in places:
                    wrong.append(f"{path.relative_to(ROOT)}: spec {place}")
    assert not wrong, "citations of the spec that name no place in it:\n" + "\n".join(wrong)
