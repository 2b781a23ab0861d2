"""The weights registry: never downloads implicitly, checks hashes, names the command that helps."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from v2abench import weights
from v2abench.cli import app

runner = CliRunner()


def test_missing_file_names_the_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("V2ABENCH_HOME", str(tmp_path))
    with pytest.raises(weights.MissingWeightsError, match="v2abench weights fetch dac-16khz"):
        weights.require("dac-16khz")
    with pytest.raises(KeyError, match="Did you mean"):
        weights.get_spec("dac-16k")


def test_import_checks_publisher_prefix_and_records_unpinned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("V2ABENCH_HOME", str(tmp_path / "home"))
    fake = tmp_path / "encodec.th"
    fake.write_bytes(b"not the real encodec")
    with pytest.raises(weights.WeightsHashError, match="does not match"):
        weights.import_file("encodec-24khz", fake)
    assert not weights.WEIGHTS["encodec-24khz"].path.exists()
    # unpinned: the first import records the hash; a different file afterwards is refused
    dest = weights.import_file("dac-16khz", fake)
    assert dest.read_bytes() == fake.read_bytes()
    ok, message = weights.verify("dac-16khz")
    assert ok and "unpinned" in message
    dest.write_bytes(b"tampered")
    assert not weights.verify("dac-16khz")[0]
    result = runner.invoke(app, ["weights", "verify", "dac-16khz"])
    assert result.exit_code == 1


def test_fetch_fails_fast_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("V2ABENCH_HOME", str(tmp_path))

    # a real connection attempt to a loopback port where nothing listens: refused at once
    from dataclasses import replace

    monkeypatch.setitem(weights.WEIGHTS, "dac-24khz", replace(weights.WEIGHTS["dac-24khz"], url="http://127.0.0.1:9/weights.pth"))
    result = runner.invoke(app, ["weights", "fetch", "dac-24khz"])
    assert result.exit_code == 2
    assert "weights import dac-24khz" in result.output
    assert not weights.WEIGHTS["dac-24khz"].path.exists()
    assert "dac-44khz" in runner.invoke(app, ["weights", "list"]).output


def test_shipped_assets_match_their_recorded_sha256() -> None:
    for name, sha in weights.SHIPPED_ASSETS.items():
        path = weights.shipped_asset_path(name)
        assert path.is_file(), name
        assert path.stat().st_size <= 8_000_000, name
        assert weights.sha256_file(path) == sha, name


def test_every_committed_asset_is_registered_with_its_meta() -> None:
    """An asset file without a pinned sha256 (or a registered one without its file) fails here, loudly."""
    assets = weights.shipped_asset_path("x").parent
    assert {p.name.removesuffix(".safetensors") for p in assets.glob("*.safetensors")} == set(weights.SHIPPED_ASSETS)
    for name in weights.SHIPPED_ASSETS:
        assert (assets / f"{name}.json").is_file(), f"{name}.json (the asset's meta) is missing"
