"""The Probe page's browser viewer, used as a reader uses it: headless Chromium opens a small page
with the viewer (``book/_static/probe/viewer.js``) and data computed here from the shipped
weights, clicks a position, presses an arrow key and picks another image; each time the maps
drawn must be that node's relation row and column and the gate, as computed in Python from the
same data.

Chromium is driven through its DevTools protocol (a websocket, ``websocket-client``): real mouse
and key events, then the page's DOM and canvas pixels are read back. Skipped where Chromium is
not installed (Debian: ``apt-get install -y chromium``; ``.ci/run`` installs it).
"""

import itertools
import json
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from rga.analysis.probe import grid_cell, probe, relation_matrix
from rga.engine.build import build_model
from rga.engine.config import make_config
from rga.study.probe_weights import load_probe_model, load_reference, normalise_images
from rga.study.report.probe_viewer import (
    DATA_FILE,
    decode_array,
    encode_array,
    viewer_data,
    viewer_html,
    write_viewer_data,
)

ROOT = Path(__file__).resolve().parents[1]
VIEWER = ROOT / "book" / "_static" / "probe"
RUN = "synthreid-resnet18-w0.5-rga-sc-p1234-s0-34ec5985-d5feeae32"  # shipped RGA-SC x4
CHROMIUM = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)),
    None,
)


@pytest.fixture(scope="module")
def data() -> dict:
    """The viewer's data for the two reference images: the shipped RGA-SC x4, then an untrained
    CBAM-CS of the same size (a model without relations, drawn beside it)."""
    images = load_reference(RUN)["images"]
    rga = load_probe_model(RUN)
    config = make_config("pretrained", kind="cbam", positions=(1, 2, 3, 4), weights=None)
    cbam = build_model(config, num_classes=4).eval()
    models = [("RGA-SC conv2-5_x", RUN, rga), ("CBAM-CS conv2-5_x", "untrained", cbam)]
    return viewer_data(models, images, source="two reference images")


def test_arrays_round_trip_in_half_precision_or_float32():
    values = np.array([[0.1, -2.5], [7.0, 1e-3]], dtype=np.float32)
    encoded = encode_array(values)
    assert encoded["dtype"] == "float16" and encoded["shape"] == [2, 2]
    np.testing.assert_array_equal(decode_array(encoded), values.astype(np.float16))
    big = encode_array(np.array([1e5, 1.0]))  # beyond float16: kept in float32
    assert big["dtype"] == "float32"
    np.testing.assert_array_equal(decode_array(big), [1e5, 1.0])


def test_the_data_holds_each_stages_gate_and_whole_relation_matrix(data):
    reference = load_reference(RUN)
    x = normalise_images(reference["images"])
    model = load_probe_model(RUN)
    gates = probe(model, x)
    rga, cbam = data["models"]
    assert [s["stage"] for s in rga["stages"]] == [1, 2, 3, 4]
    assert [(s["h"], s["w"]) for s in rga["stages"]] == [(24, 12), (12, 6), (6, 3), (6, 3)]
    for entry in rga["stages"]:
        stage, n = entry["stage"], entry["h"] * entry["w"]
        r = relation_matrix(model, x, stage)  # (B, N, N)
        for b in range(2):
            np.testing.assert_allclose(
                decode_array(entry["relation"][b]), r[b], rtol=1e-3, atol=1e-3 * np.abs(r).max()
            )  # float16
            np.testing.assert_allclose(
                decode_array(entry["gate"][b]), gates[stage].spatial[b], rtol=0, atol=1e-3
            )
        assert decode_array(entry["relation"][0]).shape == (n, n)
    assert all(s["relation"] is None and s["gate"] for s in cbam["stages"])
    assert len(data["images"]) == 2 and data["images"][0]["png"].startswith("data:image/png")


def test_the_page_html_loads_the_viewer_from_static(tmp_path):
    for name in ("viewer.js", "viewer.css"):
        shutil.copy(VIEWER / name, tmp_path / name)
    path = write_viewer_data({"models": []}, tmp_path)
    assert path.read_text().startswith("window.RGA_PROBE_DATA = {")
    page = viewer_html(path).data
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert [s.split("?v=")[0] for s in sources] == [
        "_static/probe/viewer.css",
        f"_static/probe/{DATA_FILE}",
        "_static/probe/viewer.js",
    ]
    assert "data-rga-probe" in page and "http" not in page


# --- headless Chromium ----------------------------------------------------------------------


class Browser:
    """Headless Chromium and one page, driven through the DevTools protocol."""

    def __init__(self, profile: Path):
        websocket = pytest.importorskip("websocket")
        self.process = subprocess.Popen(
            [
                CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-extensions", "--allow-file-access-from-files",
                "--remote-debugging-port=0", f"--user-data-dir={profile}",
                "--window-size=1200,1600", "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        port_file = profile / "DevToolsActivePort"  # Chromium writes its port here
        deadline = time.monotonic() + 60
        while not (port_file.is_file() and port_file.read_text().strip()):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.close()
                pytest.fail("headless Chromium did not start (no DevToolsActivePort)")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as reply:
            page = next(t for t in json.load(reply) if t["type"] == "page")
        self.socket = websocket.create_connection(
            page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True
        )
        self.ids = itertools.count(1)

    def send(self, method: str, **params) -> dict:
        call = next(self.ids)
        self.socket.send(json.dumps({"id": call, "method": method, "params": params}))
        while True:  # events arrive in between; the reply carries our id
            message = json.loads(self.socket.recv())
            if message.get("id") == call:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def evaluate(self, expression: str):
        result = self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30):
        deadline = time.monotonic() + timeout
        while not (value := self.evaluate(expression)):
            if time.monotonic() > deadline:
                raise TimeoutError(expression)
            time.sleep(0.05)
        return value

    def click(self, x: float, y: float) -> None:
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def key(self, key: str, code: int) -> None:
        for kind in ("rawKeyDown", "keyUp"):
            self.send(
                "Input.dispatchKeyEvent", type=kind, key=key, code=key, windowsVirtualKeyCode=code
            )

    def close(self) -> None:
        if getattr(self, "socket", None) is not None:
            self.socket.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


READ_MAPS = """JSON.stringify(Array.from(document.querySelectorAll("canvas.rga-probe-map")).map(c => {
  const ctx = c.getContext("2d");
  const d = c.dataset;
  const n = d.values.split(",").length;
  return {model: +d.model, stage: +d.stage, map: d.map, node: +d.node, min: +d.min, max: +d.max,
          values: d.values.split(",").map(Number), width: c.width, height: c.height,
          pixels: Array.from(ctx.getImageData(0, 0, c.width, c.height).data)};
}))"""


def jet(t: np.ndarray) -> np.ndarray:
    """The viewer's colour scale, (..., 3) uint8."""
    t = np.clip(t, 0, 1)[..., None]
    rgb = 1.5 - np.abs(4 * t - np.array([3, 2, 1]))
    return np.round(255 * np.clip(rgb, 0, 1)).astype(int)


def expected_maps(data: dict, image: int, y: float, x: float) -> dict:
    """{(model, stage, map): (node, values)} the viewer must draw for the point (y, x)."""
    out = {}
    for m, model in enumerate(data["models"]):
        for entry in model["stages"]:
            h, w = entry["h"], entry["w"]
            r, c = grid_cell(y, x, h, w)
            node = r * w + c
            if entry["gate"]:
                out[m, entry["stage"], "gate"] = node, decode_array(entry["gate"][image]).ravel()
            if entry["relation"]:
                matrix = decode_array(entry["relation"][image])  # (N, N)
                out[m, entry["stage"], "row"] = node, matrix[node]
                out[m, entry["stage"], "col"] = node, matrix[:, node]
    return out


def assert_drawn(browser: Browser, data: dict, image: int, y: float, x: float) -> None:
    """Every map canvas shows the values of the node that holds (y, x): its data attributes
    name the node and hold exactly those values, and each cell's pixel has the colour of its
    value on the map's scale (its own min..max, gates and relations alike)."""
    drawn = json.loads(browser.evaluate(READ_MAPS))
    expected = expected_maps(data, image, y, x)
    assert sorted((d["model"], d["stage"], d["map"]) for d in drawn) == sorted(expected)
    stages = {e["stage"]: e for e in data["models"][0]["stages"]}
    for d in drawn:
        node, values = expected[d["model"], d["stage"], d["map"]]
        assert d["node"] == node, (d["stage"], d["map"])
        np.testing.assert_array_equal(np.float32(d["values"]), values)
        low, high = values.min(), values.max()
        assert (d["min"], d["max"]) == pytest.approx((values.min(), values.max()), rel=1e-6)
        h, w = stages[d["stage"]]["h"], stages[d["stage"]]["w"]
        pixels = np.array(d["pixels"]).reshape(d["height"], d["width"], 4)
        ys = ((np.arange(h) + 0.5) * d["height"] / h).astype(int)
        xs = ((np.arange(w) + 0.5) * d["width"] / w).astype(int)
        centres = pixels[ys[:, None], xs[None, :], :3]  # (h, w, 3), away from the outline
        span = high - low
        colours = jet((values.reshape(h, w) - low) / span if span > 0 else np.full((h, w), 0.5))
        assert np.abs(centres - colours).max() <= 1, (d["stage"], d["map"])


@pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (apt-get install -y chromium)"
)
def test_clicks_keys_and_image_buttons_redraw_that_nodes_relations(data, tmp_path):
    for name in ("viewer.js", "viewer.css"):
        shutil.copy(VIEWER / name, tmp_path / name)
    write_viewer_data(data, tmp_path)
    (tmp_path / "probe.html").write_text(
        '<!doctype html><html><head><meta charset="utf-8">'
        '<link rel="stylesheet" href="viewer.css"></head><body>'
        '<div class="rga-probe" data-rga-probe></div>'
        f'<script src="{DATA_FILE}"></script><script src="viewer.js"></script></body></html>'
    )
    browser = Browser(tmp_path / "profile")
    try:
        browser.send("Page.enable")
        browser.send("Page.navigate", url=(tmp_path / "probe.html").as_uri())
        # the element is not there until the navigation has replaced the blank page
        browser.wait_for(
            "(document.querySelector('[data-rga-probe]') || {dataset: {}}).dataset.ready === '1'"
        )
        state = "(() => { const d = document.querySelector('[data-rga-probe]').dataset; " \
                "return [+d.image, +d.y, +d.x]; })()"  # fmt: skip
        image, y, x = browser.evaluate(state)
        assert image == 0
        assert_drawn(browser, data, 0, y, x)  # the starting point

        # click the centre of cell (17, 3) of the stage-1 grid (24x12) on the stage-1 image
        box = json.loads(browser.evaluate(
            "(() => { const c = document.querySelector('canvas.rga-probe-pick[data-stage=\"1\"]');"
            " c.scrollIntoView(); return JSON.stringify(c.getBoundingClientRect()); })()"
        ))  # fmt: skip
        row, col = 17, 3
        browser.click(box["left"] + (col + 0.5) * box["width"] / 12,
                      box["top"] + (row + 0.5) * box["height"] / 24)  # fmt: skip
        image, y, x = browser.evaluate(state)
        assert grid_cell(y, x, 24, 12) == (row, col)
        assert_drawn(browser, data, 0, y, x)
        before = json.loads(browser.evaluate(READ_MAPS))

        # the clicked image has the focus, outlined; the arrow keys move the node on its grid
        focus = browser.evaluate(
            "(() => { const e = document.activeElement; const s = getComputedStyle(e);"
            " return [e.className, e.dataset.stage, s.outlineStyle, s.outlineWidth]; })()"
        )
        assert focus == ["rga-probe-pick", "1", "solid", "3px"]
        browser.key("ArrowDown", 40)
        browser.key("ArrowRight", 39)
        image, y, x = browser.evaluate(state)
        assert grid_cell(y, x, 24, 12) == (row + 1, col + 1)
        assert_drawn(browser, data, 0, y, x)
        after = json.loads(browser.evaluate(READ_MAPS))
        changed = [a["values"] != b["values"] for a, b in zip(after, before, strict=True)]
        assert any(changed)

        # the second image's button: the same node, that image's maps
        browser.evaluate("document.querySelectorAll('button.rga-probe-image')[1].click()")
        assert browser.evaluate(state)[0] == 1
        assert_drawn(browser, data, 1, y, x)
        assert browser.evaluate(
            "document.querySelectorAll('button.rga-probe-image')[1].getAttribute('aria-pressed')"
        ) == "true"  # fmt: skip
        headers = browser.evaluate(
            "Array.from(document.querySelectorAll('th.rga-probe-model'))"
            ".map(e => [e.textContent, e.colSpan])"
        )
        assert headers == [["RGA-SC conv2-5_x", 3], ["CBAM-CS conv2-5_x", 1]]  # side by side
    finally:
        browser.close()
