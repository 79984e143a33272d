"""Every CLI subcommand on bad paths: one ``error: ...`` line naming the path, exit 2, never a traceback."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import run_cli


def _missing(tmp: Path) -> Path:
    return tmp / "no-such-thing"


def _plain_folder(tmp: Path) -> Path:
    folder = tmp / "just-a-folder"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a store")
    return folder


def _plain_file(tmp: Path) -> Path:
    path = tmp / "a-file.txt"
    path.write_text("not a store")
    return path


def _zarr_json(text: str) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        store = tmp / "store.zarr"
        store.mkdir()
        (store / "zarr.json").write_text(text)
        return store

    return make


NEWER = json.dumps({"zarr_format": 3, "node_type": "group", "attributes": {"brainbrr": {"format": 99}}})
FOREIGN = json.dumps({"zarr_format": 3, "node_type": "group", "attributes": {}})

BAD_STORES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "missing": (_missing, "No such file or directory"),
    "plain folder": (_plain_folder, "not a brainbrr store"),
    "plain file": (_plain_file, "a-file.txt"),
    "unparsable zarr.json": (_zarr_json("{not json"), "bad metadata"),
    "newer format": (_zarr_json(NEWER), "unsupported store format 99"),
    "foreign zarr group": (_zarr_json(FOREIGN), "not a brainbrr store"),
}


def assert_one_error_line(proc, path: Path, words: str) -> None:
    err = proc.stderr.strip()
    assert proc.returncode == 2, (proc.returncode, proc.stdout, err)
    assert "Traceback" not in err, err
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    assert path.name in err and words in err, err


@pytest.mark.parametrize("command", [("info",), ("info", "--json"), ("verify",)])
@pytest.mark.parametrize("case", list(BAD_STORES))
def test_store_commands_on_bad_stores(tmp_path: Path, command: tuple[str, ...], case: str) -> None:
    make, words = BAD_STORES[case]
    path = make(tmp_path)
    assert_one_error_line(run_cli("brainbrr", *command, path), path, words)


@pytest.mark.parametrize("case", ["unparsable zarr.json", "newer format", "foreign zarr group", "plain file"])
def test_ingest_into_bad_stores(tmp_path: Path, small_corpus_template: Path, case: str) -> None:
    make, _ = BAD_STORES[case]
    path = make(tmp_path)
    before = {p: p.read_bytes() for p in ([path] if path.is_file() else path.rglob("*")) if p.is_file()}
    for program in (("brainbrr-ingest",), ("brainbrr", "ingest")):
        proc = run_cli(*program, small_corpus_template, "--out", path)
        assert_one_error_line(proc, path, "")
    # Refused without touching what was there.
    assert {p: p.read_bytes() for p in ([path] if path.is_file() else path.rglob("*")) if p.is_file()} == before


def test_ingest_missing_source_and_bad_config(tmp_path: Path, small_corpus_template: Path) -> None:
    missing = _missing(tmp_path)
    assert_one_error_line(run_cli("brainbrr-ingest", missing, "--out", tmp_path / "s.zarr"), missing, "")
    config = tmp_path / "config.json"
    config.write_text("{oops")
    proc = run_cli("brainbrr-ingest", small_corpus_template, "--out", tmp_path / "s.zarr", "--config", config)
    assert_one_error_line(proc, config, "not a JSON config")
    proc = run_cli("brainbrr-ingest", small_corpus_template, "--out", tmp_path / "s.zarr", "--config", missing)
    assert_one_error_line(proc, missing, "No such file or directory")
    config.write_text("[1, 2]")
    proc = run_cli("brainbrr-ingest", small_corpus_template, "--out", tmp_path / "s.zarr", "--config", config)
    assert_one_error_line(proc, config, "JSON object")


def test_edf_on_bad_paths(tmp_path: Path) -> None:
    for path in (_missing(tmp_path), _plain_folder(tmp_path), _plain_file(tmp_path)):
        assert_one_error_line(run_cli("brainbrr", "edf", path), path, "")


def test_demo_never_writes_beside_other_files(tmp_path: Path) -> None:
    folder = _plain_folder(tmp_path)
    assert_one_error_line(run_cli("brainbrr", "demo", "--out", folder), folder, "not an empty folder")
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    path = _plain_file(tmp_path)
    assert_one_error_line(run_cli("brainbrr", "demo", "--out", path), path, "not an empty folder")


def test_demo_rerun_with_other_options_is_only_the_demo(tmp_path: Path) -> None:
    """A second demo into its own earlier output is refused; into a fresh folder it holds exactly its files."""
    first, second = tmp_path / "first", tmp_path / "second"
    assert run_cli("brainbrr", "demo", "--out", first, "--patients", "2", "--json").returncode == 0
    again = run_cli("brainbrr", "demo", "--out", first, "--patients", "1")
    assert_one_error_line(again, first, "not an empty folder")
    proc = run_cli("brainbrr", "demo", "--out", second, "--patients", "1", "--json")
    assert proc.returncode == 0, proc.stderr
    edf = sorted(p.relative_to(second / "edf").as_posix() for p in (second / "edf").rglob("*.edf"))
    summary = json.loads(proc.stdout)
    assert summary["found"] == summary["ingested"] == len(edf) and summary["recordings"] == len(edf)
    assert sorted(p.name for p in second.iterdir()) == ["cache.zarr", "edf"]


def test_info_labels_the_last_ingest(tmp_path: Path, small_corpus_template: Path) -> None:
    store = tmp_path / "s.zarr"
    assert run_cli("brainbrr-ingest", small_corpus_template, "--out", store).returncode == 0
    out = run_cli("brainbrr", "info", store).stdout
    assert "last ingest: 4 found, 4 ingested" in out and "this run" not in out


def test_edf_rates_are_unambiguous(tmp_path: Path, real_edf_dir: Path) -> None:
    # short_psg.edf: 100 Hz EEG and 1 Hz signals; 20230822_001118_BRP.edf: 25 Hz and 1/60 Hz.
    out = run_cli("brainbrr", "edf", real_edf_dir / "short_psg.edf").stdout
    assert "signals at 1 Hz and 100 Hz," in out, out
    out = run_cli("brainbrr", "edf", real_edf_dir / "20230822_001118_BRP.edf").stdout
    assert "signals at 0.01667 Hz and 25 Hz," in out, out


def test_config_print_is_the_full_default_config() -> None:
    proc = run_cli("brainbrr", "config", "--print")
    assert proc.returncode == 0, proc.stderr
    import brainbrr

    assert json.loads(proc.stdout) == brainbrr.default_config()


def test_config_print_applies_the_flags_over_a_config_file(tmp_path: Path) -> None:
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"notch": {"freq": 50.0}, "target_fs": 512, "window_s": 30}))
    proc = run_cli("brainbrr", "config", "--print", "--config", config, "--fs", "200", "--montage", "tcp", "--stride", "5")
    assert proc.returncode == 0, proc.stderr
    printed = json.loads(proc.stdout)
    assert printed["target_fs"] == 200.0 and printed["window_s"] == 30.0 and printed["stride_s"] == 5.0
    assert printed["notch"]["freq"] == 50.0
    assert printed["bandpass"]["high"] == 93.75  # follows Nyquist: 120/128 of 100 Hz
    assert printed["montage"]["kind"] == "tcp" and len(printed["montage"]["pairs"]) == 22
    # What it prints is a config --config takes, and gives the same again.
    config.write_text(proc.stdout)
    again = run_cli("brainbrr", "config", "--print", "--config", config)
    assert json.loads(again.stdout) == printed


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"target_fs": 200, "bandpass": {"high": 120}}, "bandpass.high: 120 Hz is above Nyquist (100 Hz) for target_fs 200 Hz"),
        ({"bandpass": {"hihg": 100}}, "bandpass.hihg: unknown key (expected one of"),
        ({"montage": {"kind": "tcp", "pair": []}}, "montage.pair: unknown key"),
        ({"notch": {"q": "high"}}, 'notch.q: invalid type: string "high", expected f64'),
        ({"montage": {"kind": "sideways"}}, "montage.kind: unknown variant `sideways`"),
        ({"montage": {"kind": "bipolar", "pairs": ["FP1"]}}, 'montage.pairs: "FP1" is not two electrodes'),
    ],
)
def test_config_errors_name_the_parameter(tmp_path: Path, config: dict[str, object], words: str) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps(config, indent=2))
    for proc in (
        run_cli("brainbrr", "config", "--print", "--config", path),
        run_cli("brainbrr-ingest", tmp_path, "--out", tmp_path / "s.zarr", "--config", path),
    ):
        err = proc.stderr.strip()
        assert proc.returncode == 2 and err.startswith("error: ") and len(err.splitlines()) == 1, err
        assert words in err and "line " not in err and "column" not in err, err
    assert not (tmp_path / "s.zarr").exists()


def test_ingest_flags_shape_the_store(tmp_path: Path, small_corpus_template: Path) -> None:
    store = tmp_path / "s.zarr"
    args = ("--fs", "200", "--montage", "tcp", "--window", "10", "--stride", "5", "--json")
    proc = run_cli("brainbrr-ingest", small_corpus_template, "--out", store, *args)
    assert proc.returncode == 0, proc.stderr
    import zarr

    group = zarr.open_group(store, mode="r")
    root = group.attrs["brainbrr"]
    assert root["fs"] == 200.0 and len(root["channels"]) == 22 and root["channels"][0] == "FP1-F7"
    assert root["config"]["bandpass"]["high"] == 93.75
    assert group.attrs["brainbrr"]["config"] == json.loads(run_cli("brainbrr", "config", "--print", *args[:-1]).stdout)
    index = group["index"].attrs["brainbrr_index"]
    assert (index["window_samples"], index["stride_samples"]) == (2000, 1000)
    rid = group["index/recordings/rid"][0]
    assert group[f"recordings/{rid}/signal"].shape[0] == 22
    # The same flags resume the store; other flags are refused, naming the parameter.
    again = run_cli("brainbrr-ingest", small_corpus_template, "--out", store, *args)
    assert again.returncode == 0 and json.loads(again.stdout)["current"] == 4, again.stderr
    other = run_cli("brainbrr-ingest", small_corpus_template, "--out", store, "--fs", "200", "--window", "10", "--stride", "5")
    assert other.returncode == 2 and "montage.kind" in other.stderr, other.stderr


def test_montage_flag_replaces_the_files_montage_preset(tmp_path: Path) -> None:
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"montage": {"kind": "bipolar", "pairs": ["FP1-F3"], "optional": ["F3"]}}))
    printed = json.loads(run_cli("brainbrr", "config", "--print", "--config", config, "--montage", "tcp").stdout)
    assert printed["montage"]["kind"] == "tcp" and printed["montage"]["optional"] == ["A1", "A2"]
    printed = json.loads(run_cli("brainbrr", "config", "--print", "--config", config, "--montage", "referential").stdout)
    assert "pairs" not in printed["montage"] and len(printed["montage"]["channels"]) == 19
    printed = json.loads(run_cli("brainbrr", "config", "--print", "--config", config).stdout)
    assert printed["montage"]["pairs"] == ["FP1-F3"]
