"""The conformance vectors of format_spec/abc.md §9, and the spec's hex dump of the smallest one."""

import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from abcodec import container
from abcodec.generative import assist
from abcodec.codec import decode
from abcodec.container import AbcError

VECTORS = Path(__file__).resolve().parent.parent / "format_spec" / "vectors"
SPEC = VECTORS.parent / "abc.md"
MANIFEST = json.loads((VECTORS / "vectors.json").read_text())


def load_generator():
    spec = importlib.util.spec_from_file_location("generate_vectors", VECTORS / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", sorted(MANIFEST["valid"]) + sorted(MANIFEST["legacy"]))
def test_valid_vector_decodes_to_its_reference_within_tolerance(name):
    entry = MANIFEST["valid"].get(name) or MANIFEST["legacy"][name]
    decoded = np.asarray(decode((VECTORS / entry["file"]).read_bytes(), inpainter="diffusion"), dtype=np.int16)
    expected = np.asarray(Image.open(VECTORS / entry["expected"]), dtype=np.int16)
    difference = np.abs(decoded - expected)
    assert difference.max() <= MANIFEST["tolerance"]["max_abs"]
    assert difference.mean() <= MANIFEST["tolerance"]["mean_abs"]


@pytest.mark.parametrize("name", sorted(MANIFEST["invalid"]))
def test_invalid_vector_is_refused(name):
    with pytest.raises(AbcError):
        decode((VECTORS / MANIFEST["invalid"][name]["file"]).read_bytes())


def test_the_frame_larger_than_its_sequence_header_is_refused_by_its_frame_header():
    """§12 step 1: the sequence header's size is the image's, so only the frame header tells."""
    data = (VECTORS / "bad-av1-frame-larger-than-head.abc").read_bytes()
    assert container.read_file(data).header.width == 16
    with pytest.raises(AbcError, match=r"^BASE: AV1 frame header codes a 64x36 frame \(frame_size_override_flag 1, "
                                       r"frame_width_minus_1 63, frame_height_minus_1 35\), but its sequence header "
                                       "declares 16x9$"):
        decode(data)


def test_committed_vectors_are_what_the_generator_makes():
    """Bit for bit where the bytes are the format's; the AV1 frames are libaom's choice, so files
    with a BASE are compared only where the same libavif and libaom made them."""
    generator = load_generator()
    valid = generator.valid_vectors()
    made = {**valid, **generator.invalid_vectors(valid)}
    same_encoder = MANIFEST["made_with"] == generator.made_with()
    for section in ("valid", "invalid"):
        for name, entry in MANIFEST[section].items():
            committed = (VECTORS / entry["file"]).read_bytes()
            if same_encoder or container.CHUNK_BASE not in committed:
                assert committed == made[name][0], f"{name}: rerun generate.py --write"
    assert {k: v for k, v in MANIFEST.items() if k != "made_with"} == {
        k: v for k, v in generator.manifest(valid, generator.invalid_vectors(valid)).items() if k != "made_with"}


def test_legacy_vectors_are_version_2_files_of_the_dct_base():
    for name, entry in MANIFEST["legacy"].items():
        abc = container.read_file((VECTORS / entry["file"]).read_bytes())
        assert abc.header.version == 2 and abc.base is not None, name


@pytest.mark.parametrize("name", ["rgb-24x20-av1-assist", "rgb-24x20-base-assist"])
def test_assist_vector_carries_the_statistics_of_the_spec(name):
    abc = container.read_file((VECTORS / f"{name}.abc").read_bytes())
    generator = load_generator()
    spec_payload = re.search(r"as the `clas` payload `([0-9a-f ]+)`", SPEC.read_text()).group(1)
    assert abc.ancillary[container.CHUNK_CLAS] == bytes.fromhex(spec_payload)
    stats = assist.statistics_from_chunks(abc.ancillary)
    assert stats.classes.tolist() == list(generator.CLASS_CODE)
    expected = generator.gram_matrix()
    assert np.abs(stats.gram - expected).max() <= 0.01 * np.abs(expected).max()
    assert abc.header.inpainter == container.INPAINTER_PPGN and abc.header.params[2] > 0 and abc.header.params[4] > 0


def test_spec_hex_dump_matches_the_smallest_vector():
    text = SPEC.read_text()
    block = text.split("<!-- hexdump grey-7x5-pixels.abc -->")[1].split("```")[1]
    dumped = bytes.fromhex("".join(re.findall(r"^[0-9a-f]{4}: ((?:[0-9a-f]{2} ?)+)", block, re.M)).replace(" ", ""))
    assert dumped == (VECTORS / "grey-7x5-pixels.abc").read_bytes()
