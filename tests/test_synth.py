"""SynthReID: layout, counts, masks and part maps, determinism, hard negatives, cache and the
Market loader."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rga.synth import (
    PARTS,
    PRESETS,
    ensure_synthreid,
    generate_synthreid,
    load_mask,
    load_part_mask,
    mask_path,
    part_mask_path,
    render_images,
    sample_grid,
    synth_config,
)
from rga.synth import generate as synth
from rga.synth.identity import HARD_NEGATIVE_GROUPS, differing_groups, sample_identity
from rga.synth.painter import Painter
from rga.synth.person import VIEWS, draw_person
from rga.synth.plan import plan_identities, plan_images

MARKET_NAME = re.compile(r"([-\d]+)_c(\d)")
FOLDERS = {"train": "bounding_box_train", "query": "query", "gallery": "bounding_box_test"}


@pytest.fixture(scope="module")
def smoke(tmp_path_factory) -> Path:
    return ensure_synthreid(tmp_path_factory.mktemp("cache"), "smoke")


def images(root: Path, split: str) -> list[Path]:
    return sorted((root / FOLDERS[split]).glob("*.jpg"))


def parse(path: Path) -> tuple[int, int]:
    pid, cam = MARKET_NAME.search(path.name).groups()
    return int(pid), int(cam)


def test_unknown_preset_and_field_name_the_valid_choices():
    with pytest.raises(KeyError, match="smoke, cpu, pretrain, market"):
        synth_config("huge")
    with pytest.raises(TypeError, match="num_ids.*valid fields: num_train_ids"):
        synth_config("smoke", num_ids=3)
    with pytest.raises(ValueError, match="num_cameras=10"):
        synth_config("smoke", num_cameras=10)
    with pytest.raises(ValueError, match="cams_per_id=3"):
        synth_config("smoke", cams_per_id=3)


def test_presets_have_the_documented_sizes():
    assert PRESETS["smoke"].num_images < 150
    assert (PRESETS["cpu"].num_train_ids, PRESETS["cpu"].num_images) == (200, 4_900)
    market = PRESETS["market"]
    assert (market.num_train_ids, market.num_test_ids, market.num_cameras) == (751, 750, 6)
    assert 25_000 < market.num_images < 35_000
    assert (market.height, market.width) == (256, 128)


@pytest.mark.parametrize("preset", ["cpu", "pretrain"])
def test_the_192x96_presets_draw_the_same_people_at_twice_the_size(preset):
    """The scale probe's data (book/scale.md): only the size differs, and an image drawn at
    192x96 shows the person of its 128x64 namesake (their masks agree once brought to one
    size); so the probe's people are the study's, drawn natively at the larger size."""
    small, large = PRESETS[preset], PRESETS[f"{preset}-192x96"]
    assert dataclasses.replace(large, height=small.height, width=small.width) == small
    assert (large.height, large.width) == (192, 96)
    jobs = plan_images(small, plan_identities(small))
    assert [j.name for j in jobs] == [j.name for j in plan_images(large, plan_identities(large))]
    name = jobs[0].name
    a = render_images(small, [name])[name].mask
    b = render_images(large, [name])[name].mask
    assert b.shape == (192, 96)
    b_small = np.asarray(Image.fromarray(b.astype(np.uint8) * 255).resize((64, 128))) > 127
    iou = (a & b_small).sum() / (a | b_small).sum()
    assert iou > 0.8, iou


def test_counts_match_the_config_and_meta(smoke):
    config = synth_config("smoke")
    meta = json.loads((smoke / "meta.json").read_text())
    assert meta["config"] == dataclasses.asdict(config)
    expected = {
        "train": config.num_train_images,
        "query": config.num_query_images,
        "gallery": config.num_gallery_images,
    }
    for split, count in expected.items():
        assert len(images(smoke, split)) == count
        assert meta["counts"][split]["images"] == count
    gallery_pids = [parse(p)[0] for p in images(smoke, "gallery")]
    assert gallery_pids.count(0) == config.num_distractors
    assert gallery_pids.count(-1) == config.num_junk


def test_names_parse_with_the_market_regex_and_splits_are_disjoint(smoke):
    config = synth_config("smoke")
    pids = {split: {parse(p)[0] for p in images(smoke, split)} for split in FOLDERS}
    train_ids = set(range(1, config.num_train_ids + 1))
    test_ids = set(range(config.num_train_ids + 1, config.num_train_ids + config.num_test_ids + 1))
    assert pids["train"] == train_ids
    assert pids["query"] == test_ids
    assert pids["gallery"] == test_ids | {0, -1}
    for split in FOLDERS:
        for path in images(smoke, split):
            assert re.fullmatch(r"(-1|\d{4})_c\ds1_\d{6}_\d{2}\.jpg", path.name), path.name
            assert 1 <= parse(path)[1] <= config.num_cameras
    # every query has a same-id gallery image from another camera
    gallery = {parse(p) for p in images(smoke, "gallery")}
    for pid, cam in map(parse, images(smoke, "query")):
        assert any(g_pid == pid and g_cam != cam for g_pid, g_cam in gallery)


def test_every_image_has_a_binary_mask_of_its_size(smoke):
    coverage = []
    for split in FOLDERS:
        for path in images(smoke, split):
            mask_file = mask_path(path)
            assert mask_file == smoke / "masks" / FOLDERS[split] / f"{path.stem}.png"
            raw = np.asarray(Image.open(mask_file))
            assert raw.shape == (64, 32) == Image.open(path).size[::-1]
            assert set(np.unique(raw)) <= {0, 255}
            mask = load_mask(path)
            assert mask.dtype == bool
            if parse(path)[0] > 0:
                coverage.append(mask.mean())
    assert 0.03 < min(coverage) and max(coverage) < 0.7
    assert 0.1 < np.mean(coverage) < 0.7


def test_every_image_has_a_part_map_that_splits_its_mask(smoke):
    assert json.loads((smoke / "meta.json").read_text())["parts"] == list(PARTS)
    seen = np.zeros(len(PARTS), dtype=np.int64)
    for split in FOLDERS:
        for path in images(smoke, split):
            assert part_mask_path(path) == smoke / "parts" / FOLDERS[split] / f"{path.stem}.png"
            parts = load_part_mask(path)
            assert parts.dtype == np.uint8 and parts.shape == (64, 32)
            np.testing.assert_array_equal(parts > 0, load_mask(path))  # 0 exactly off the person
            seen += np.bincount(parts.ravel(), minlength=len(PARTS))
    assert seen.size == len(PARTS) and (seen > 0).all()  # every part is drawn somewhere
    share = seen[1:] / seen[1:].sum()
    assert share[PARTS.index("legs") - 1] > share[PARTS.index("shoes") - 1]  # larger parts


@pytest.mark.parametrize("view", VIEWS)
def test_drawing_the_part_map_changes_neither_image_nor_mask(view):
    person = sample_identity(np.random.default_rng(3))
    person["bag"].update(kind="backpack" if view != "left" else "handbag", side="right")
    drawn = []
    for parts in (None, Image.new("L", (64, 128), 0)):
        canvas, mask = Image.new("RGB", (64, 128), (90, 90, 90)), Image.new("L", (64, 128), 0)
        draw_person(Painter(canvas, mask, parts), person, view, 32.0, 8.0, 112.0, 1.0)
        drawn.append((np.asarray(canvas), np.asarray(mask), parts))
    (image, mask, _), (image_p, mask_p, parts) = drawn
    np.testing.assert_array_equal(image, image_p)
    np.testing.assert_array_equal(mask, mask_p)
    labels = np.asarray(parts)
    np.testing.assert_array_equal(labels > 0, mask > 0)
    assert {PARTS.index(p) for p in ("head", "torso", "arms", "legs", "shoes", "bag")} <= set(
        np.unique(labels).tolist()
    )


def test_part_maps_are_added_to_a_folder_cached_without_them(smoke, tmp_path, monkeypatch):
    old = tmp_path / smoke.name
    shutil.copytree(smoke, old)
    shutil.rmtree(old / "parts")  # as written before part maps existed
    meta = json.loads((old / "meta.json").read_text())
    del meta["layout"]["parts"], meta["parts"]
    (old / "meta.json").write_text(json.dumps(meta))
    images_before = {p: p.read_bytes() for p in old.glob("*/*.jpg")}

    def refuse(*args, **kwargs):
        raise AssertionError("regenerated a cached dataset")

    monkeypatch.setattr(synth, "generate_synthreid", refuse)
    assert ensure_synthreid(tmp_path, "smoke") == old
    for path in (smoke / "parts").rglob("*.png"):
        assert (old / path.relative_to(smoke)).read_bytes() == path.read_bytes()
    assert {p: p.read_bytes() for p in old.glob("*/*.jpg")} == images_before
    assert json.loads((old / "meta.json").read_text())["parts"] == list(PARTS)
    assert sorted(p.name for p in old.iterdir() if p.name.startswith(".")) == []


def test_part_maps_are_refused_when_the_generator_no_longer_draws_the_cache(smoke, tmp_path):
    old = tmp_path / smoke.name
    shutil.copytree(smoke, old)
    shutil.rmtree(old / "parts")
    first = images(old, "query")[0]
    Image.fromarray(np.zeros((64, 32), np.uint8)).save(mask_path(first))  # not what it draws
    with pytest.raises(RuntimeError, match="delete the folder"):
        synth.add_part_masks(old)
    assert not (old / "parts").exists()


def test_render_images_draws_what_the_files_hold(smoke):
    names = [
        images(smoke, "query")[1].name,
        "bounding_box_test/" + images(smoke, "gallery")[-1].name,
    ]
    rendered = render_images(synth_config("smoke"), names)
    assert list(rendered) == names
    paths = (images(smoke, "query")[1], images(smoke, "gallery")[-1])
    for name, path in zip(names, paths, strict=True):
        image, mask, parts = rendered[name]
        np.testing.assert_array_equal(image, np.asarray(Image.open(path).convert("RGB")))
        np.testing.assert_array_equal(mask, load_mask(path))
        np.testing.assert_array_equal(parts, load_part_mask(path))
    with pytest.raises(KeyError, match="another preset or size"):
        render_images(synth_config("smoke"), ["9999_c1s1_000001_01.jpg"])


def rendered_files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.suffix in {".jpg", ".png"})


def test_same_config_gives_identical_bytes_in_any_number_of_processes(smoke, tmp_path):
    config = synth_config("smoke")
    again = generate_synthreid(tmp_path, config, preset="smoke", workers=2)
    files = rendered_files(smoke)
    assert len(files) == 3 * config.num_images  # images, masks and part maps
    assert rendered_files(again) == files
    for rel in files:
        assert (smoke / rel).read_bytes() == (again / rel).read_bytes(), rel
    assert (smoke / "images.csv").read_bytes() == (again / "images.csv").read_bytes()


def test_another_seed_gives_other_images(smoke, tmp_path):
    other = generate_synthreid(tmp_path, synth_config("smoke", seed=1), workers=1)
    files = rendered_files(smoke)
    assert rendered_files(other) == files  # the same names: every id is in both cameras
    assert (smoke / files[0]).read_bytes() != (other / files[0]).read_bytes()


def test_hard_negatives_differ_in_exactly_one_local_attribute(smoke):
    config = synth_config("smoke")
    identities = json.loads((smoke / "meta.json").read_text())["identities"]
    twins = {pid: i for pid, i in identities.items() if i["twin_of"] is not None}
    frac = config.hard_negative_frac
    assert len(twins) == round(frac * config.num_train_ids) + round(frac * config.num_test_ids)
    for identity in twins.values():
        source = identities[str(identity["twin_of"])]
        assert source["split"] == identity["split"] and source["twin_of"] is None
        assert identity["differs_in"] in HARD_NEGATIVE_GROUPS
        assert differing_groups(source["attributes"], identity["attributes"]) == [
            identity["differs_in"]
        ]


def test_cache_is_reused_and_keyed_by_the_config(smoke, monkeypatch):
    meta = smoke / "meta.json"
    stamp = meta.stat().st_mtime_ns

    def refuse(*args, **kwargs):
        raise AssertionError("regenerated a cached dataset")

    monkeypatch.setattr(synth, "generate_synthreid", refuse)
    assert ensure_synthreid(smoke.parent, "smoke") == smoke
    assert meta.stat().st_mtime_ns == stamp
    assert re.fullmatch(r"synthreid-smoke-[0-9a-f]{8}", smoke.name)
    assert [p.name for p in smoke.parent.iterdir()] == [smoke.name]  # no temporary leftovers
    with pytest.raises(AssertionError, match="regenerated"):
        ensure_synthreid(smoke.parent, "smoke", seed=5)  # another config, another folder


def test_an_incomplete_folder_is_regenerated(tmp_path):
    first = ensure_synthreid(tmp_path, "smoke", num_distractors=0, num_junk=0)
    (first / "meta.json").unlink()
    assert ensure_synthreid(tmp_path, "smoke", num_distractors=0, num_junk=0) == first
    assert (first / "meta.json").is_file()


def test_loads_through_the_market_loader(smoke):
    from rga.data import load_dataset

    config = synth_config("smoke")
    dataset = load_dataset("synthreid", smoke.parent, preset="smoke", verbose=False)
    assert Path(dataset.root) == smoke
    assert dataset.num_train_pids == config.num_train_ids
    assert {s.pid for s in dataset.train} == set(range(config.num_train_ids))
    assert len({s.pid for s in dataset.query}) == config.num_test_ids
    assert len(dataset.query) == config.num_query_images
    assert len(dataset.gallery) == config.num_gallery_images - config.num_junk  # junk dropped
    assert {s.camid for s in dataset.train} == set(range(config.num_cameras))


def test_sample_grid_shows_image_mask_and_overlay(smoke):
    grid = sample_grid(smoke, n=6, columns=3, scale=1)
    gap = 4
    assert grid.size == (3 * (3 * 32) + 2 * gap, 2 * 64 + gap)
    with pytest.raises(KeyError, match="train, query, gallery"):
        sample_grid(smoke, split="test")
