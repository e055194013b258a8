"""python -m abcodec.demo, the README's first command: its files and what it prints."""

import json

from abcodec import demo


def test_demo_writes_its_files_and_shows_what_auto_buys(tmp_path, capsys):
    assert demo.main(["--out", str(tmp_path), "--bpp", "0.15"]) == 0
    for name in ("sample.png", "sample.abc", "sample-decoded.png", "sample-auto.abc"):
        assert (tmp_path / name).stat().st_size > 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    budget = 0.15 * 512 * 512 / 8
    assert summary["abc"]["bytes"] <= budget and summary["abc_auto"]["bytes"] <= budget
    assert summary["avif"]["bytes"] <= summary["abc"]["bytes"]
    # auto moves quality to the part of the image it ranks first, and costs some elsewhere
    assert summary["abc_auto"]["ssim_salient"] > summary["abc"]["ssim_salient"] + 0.01
    assert summary["abc_auto"]["ssim"] < summary["abc"]["ssim"]
