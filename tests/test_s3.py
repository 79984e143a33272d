"""Object storage: a corpus in a bucket of a real S3-compatible server (moto's, on 127.0.0.1).

The ingest lists the bucket and stages each recording with the Rust core's
``object_store`` client; the store it builds must equal, array by array, the
one built from the same files on disk.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import read_array, read_column, run_cli, run_ingest, store_arrays
from tests.s3server import S3, s3, s3_endpoint  # noqa: F401  (fixtures)


def assert_same_store(a: Path, b: Path, but: tuple[str, ...] = ()) -> None:
    """Every array of ``a`` equals the one of the same path in ``b`` (zarr-python reads both), but those named."""
    arrays_a, arrays_b = store_arrays(a), store_arrays(b)
    assert sorted(arrays_a) == sorted(arrays_b)
    for name in sorted(set(arrays_a) - set(but)):
        x, y = read_array(a, name), read_array(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert np.array_equal(x, y), name


def test_ingest_from_a_bucket_equals_the_local_ingest(
    s3: S3, small_corpus_template: Path, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(small_corpus_template, corpus)
    (corpus / "edf/train/broken.edf").write_bytes(b"0       not an EDF header")
    assert s3.upload_tree(corpus, "tusz") > 4

    local, local_summary = run_ingest(corpus, tmp_path / "local.zarr")
    remote, summary = run_ingest(s3.url("tusz"), tmp_path / "remote.zarr")
    assert local.returncode == remote.returncode == 1, remote.stderr  # the broken file
    assert summary is not None and local_summary is not None
    assert summary["ingested"] == local_summary["ingested"] == 4
    # Failure reasons name where the file was read from.
    assert_same_store(tmp_path / "local.zarr", tmp_path / "remote.zarr", but=("index/failures/reason",))
    assert read_column(tmp_path / "remote.zarr", "index/recordings/path")[0].startswith("edf/")
    # The failure names the object, not the local copy it was read from.
    [(path, reason)] = summary["failed"]
    assert path == "edf/train/broken.edf"
    assert f"s3://{s3.bucket}/tusz/edf/train/broken.edf" in reason, reason
    assert ".brainbrr-tmp" not in reason
    # The staged copies are gone.
    assert not (tmp_path / "remote.zarr" / ".brainbrr-tmp").exists()

    # Resume compares the objects' sizes and times: nothing to redo.
    again, summary = run_ingest(s3.url("tusz"), tmp_path / "remote.zarr")
    assert summary is not None and summary["current"] == 4 and summary["ingested"] == 0, again.stderr
    # A changed object is redone.
    client = s3.client()
    rel = "edf/train/" + next(p.name for p in sorted((corpus / "edf/train").rglob("*.edf")) if p.name != "broken.edf")
    key = next(k for k in s3.keys("tusz/") if k.endswith(rel.rsplit("/", 1)[1]))
    client.copy_object(Bucket=s3.bucket, Key=key, CopySource={"Bucket": s3.bucket, "Key": key}, MetadataDirective="REPLACE")
    _, summary = run_ingest(s3.url("tusz"), tmp_path / "remote.zarr")
    assert summary is not None and summary["ingested"] == 1 and summary["current"] == 3


def test_a_file_list_selects_objects(s3: S3, small_corpus_template: Path, tmp_path: Path) -> None:
    s3.upload_tree(small_corpus_template, "c")
    rels = sorted(k.removeprefix("c/") for k in s3.keys("c/") if k.endswith(".edf"))
    listed = tmp_path / "list.txt"
    listed.write_text(f"# two of them\n{rels[0]}\n{rels[2]}\n")
    proc, summary = run_ingest(s3.url("c"), tmp_path / "s.zarr", "--files", listed)
    assert proc.returncode == 0, proc.stderr
    assert summary is not None and summary["found"] == 2 and summary["ingested"] == 2
    listed.write_text("edf/none/such.edf\n")
    proc, _ = run_ingest(s3.url("c"), tmp_path / "t.zarr", "--files", listed)
    assert proc.returncode == 2
    assert f"s3://{s3.bucket}/c/edf/none/such.edf" in proc.stderr


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("s3://no-such-bucket/tusz", "s3://no-such-bucket/"),
        ("s3://", "no bucket name"),
        ("s3://b/a/../x", "'..'"),
    ],
)
def test_bad_urls_are_named(s3: S3, tmp_path: Path, url: str, says: str) -> None:
    proc = run_cli("brainbrr-ingest", url, "--out", tmp_path / "s.zarr")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    line = lines[0]
    assert line.startswith("error: ") and says in line, line
    assert not (tmp_path / "s.zarr").exists()
