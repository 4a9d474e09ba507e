"""The README says what the code does: its profiles table, the study's profiles, the pipeline's
stopping rule against the committed choice, and the probe recipe against the run the Probe page
opens on and the weights the repository ships for it."""

import ast
import json
import re
import shlex
from pathlib import Path

import pytest

from rga.engine.config import PROFILES, make_config, run_id
from rga.study.regime import committed_choice
from rga.study.report.probe_page import EXPERIMENT, train_command
from rga.study.report.runs import STUDY_PROFILES
from rga.study.train import _parse_override

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    """The text of the README's ``## title`` section."""
    parts = re.split(r"^## ", README, flags=re.MULTILINE)
    found = [p for p in parts if p.startswith(title + "\n")]
    assert len(found) == 1, f"the README has no single section '## {title}'"
    return found[0]


def paragraph(start: str) -> str:
    """The README paragraph that begins with `start`, its lines joined."""
    found = [p for p in README.split("\n\n") if p.startswith(start)]
    assert len(found) == 1, f"the README has no single paragraph starting {start!r}"
    return " ".join(found[0].split())


def page_parameters() -> dict:
    """The Probe page's parameters: the assignments of its cell tagged ``parameters``."""
    notebook = json.loads((REPO / "book" / "probe.ipynb").read_text(encoding="utf-8"))
    (cell,) = [c for c in notebook["cells"] if "parameters" in c["metadata"].get("tags", [])]
    tree = ast.parse("".join(cell["source"]))
    return {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body}


def committed_data_tag() -> str:
    """The data tag (``-d...`` in the run ids) of the committed runs of the probe's experiment."""
    names = (REPO / "experiments" / "results" / EXPERIMENT).glob("*.json")
    tags = {re.search(r"-d([0-9a-f]+)$", p.stem).group(1) for p in names}
    assert len(tags) == 1, f"committed {EXPERIMENT} runs on several data: {sorted(tags)}"
    return tags.pop()


def test_the_profiles_table_names_every_profile_and_no_other():
    rows = re.findall(r"^\| `([^`]+)` \|", section("Running an experiment"), flags=re.MULTILINE)
    notebooks = {r for r in rows if r.endswith(".ipynb")}
    assert sorted(set(rows) - notebooks) == sorted(PROFILES)


def test_the_study_profiles_are_named_as_in_the_code():
    text = paragraph("The book only reads")
    named = re.search(r"`rga\.study\.report\.STUDY_PROFILES` \(([^)]*)\)", text).group(1)
    assert re.findall(r"`([^`]+)`", named) == list(STUDY_PROFILES)


def test_the_pipeline_paragraph_states_the_committed_choice():
    text = paragraph("`python -m rga.study.pipeline [")
    choice = committed_choice()
    if choice and choice["schedule"]:  # the pipeline keeps it and runs the tables
        assert "state of the committed study" not in text
        assert f"{choice['schedule']['epochs']}-epoch schedule" in text
        assert "goes on to the tables" in text
    else:
        assert "stops before any table" in text


@pytest.fixture(scope="module")
def probe():
    """(the README's probe command, the page's config of that command's profile)."""
    commands = re.findall(
        r"^python -m rga\.study\.train .*$", section("The interactive probe"), re.M
    )
    assert len(commands) == 1, commands
    page = page_parameters()
    fields = {k: page[k] for k in ("kind", "positions", "seed")}
    return commands[0], make_config(page["profile"], **fields)


def test_the_probe_recipe_trains_the_run_the_page_looks_for(probe):
    command, page_config = probe
    words = shlex.split(command)
    overrides = dict(_parse_override(w) for w in words[4:])
    assert overrides.pop("experiment") == EXPERIMENT
    tag = committed_data_tag()
    assert run_id(make_config(words[3], **overrides), tag) == run_id(page_config, tag)
    assert command == train_command(page_config)  # what the page prints when it is missing
    epochs = re.search(r"\((\d+) epochs, about", section("The interactive probe")).group(1)
    assert int(epochs) == page_config.epochs


def test_the_readme_names_the_shipped_probe_run_the_page_opens_on(probe):
    """The run the README names is the page's, its weights are shipped (the manifest lists it
    under the commit the README gives) and their size is the README's."""
    from rga.study.probe_weights import probe_weights_dir, shipped_runs

    _, page_config = probe
    text = " ".join(section("The interactive probe").split())
    rid = re.search(r"\(the shipped run `([^`]+)`, trained at commit (\w+)\)", text)
    rid, commit = rid.groups()
    assert run_id(page_config, committed_data_tag()) == rid
    (entry,) = [r for r in shipped_runs() if r["run_id"] == rid]
    assert entry["commit"].startswith(commit) and entry["config"]["profile"] == page_config.profile
    record = json.loads(
        (REPO / "experiments" / "results" / "plugin_position" / f"{rid}.json").read_text()
    )
    assert record["config"]["attention_bn_init"] == page_config.attention_bn_init == "uniform"
    assert f"half precision, {entry['bytes'] / 1e6:.1f} MB" in text
    total = sum(p.stat().st_size for p in probe_weights_dir().iterdir() if p.is_file())
    assert f"Together they add {total / 1e6:.1f} MB to the repository" in text
    assert "jupyter lab book/probe.ipynb" in text
    assert "allow_untrained = True" in text and "allow_untrained" in page_parameters()
