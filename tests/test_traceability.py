"""From a window back to its source: the EDF path, corpus, patient, the start in
seconds and in the source's own samples (checked against the EDF as pyedflib reads
it), recording ids decoded to paths, and patients listed once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyedflib
import pytest

import brainbrr
from brainbrr import ZarrWindowDataset
from brainbrr.ingest import ingest
from tests.conftest import TuszCorpus


def test_info_leads_back_to_the_source_samples(tusz_corpus: TuszCorpus, tusz_store: Path) -> None:
    ds = ZarrWindowDataset(tusz_store, drop_unlabeled=False)
    rates = set()
    for r in range(len(ds.rids)):
        i = int(np.flatnonzero(ds._rec == r)[-1]) if (ds._rec == r).any() else None
        if i is None:
            continue
        info = ds.info(i)
        source = tusz_corpus.root / info["path"]
        with pyedflib.EdfReader(str(source)) as edf:
            fs_in = edf.getSampleFrequency(0)
            n_in = edf.getNSamples()[0]
        assert info["fs_in"] == fs_in == ds.fs_in[r]
        rates.add(fs_in)
        # The window's first sample, at the source's rate: the same instant.
        assert info["start_source"] == round(info["start_s"] * fs_in)
        assert 0 <= info["start_source"] < n_in
        assert info["corpus"] == "tusz" and info["patient"] == ds.recording_patients[r]
        assert info["recording"] == ds.rids[r] and brainbrr.rid_to_path(ds.rids[r]) == info["path"]
    assert len(rates) >= 3, f"several source rates are checked: {rates}"


def test_patients_once_sorted_and_per_recording(tusz_store: Path) -> None:
    ds = ZarrWindowDataset(tusz_store, drop_unlabeled=False)
    assert ds.patients == sorted(set(ds.recording_patients))
    assert len(ds.recording_patients) == len(ds.rids) > len(ds.patients)


@pytest.mark.parametrize(
    "rel",
    ["edf/train/aaaaaimu/s005_2014/01_tcp_ar/aaaaaimu_s005_t000.edf", "sub-01/ses 1/é~%.edf", "_a/.b.edf"],
)
def test_rid_to_path_inverts_the_ids_the_ingest_writes(tmp_path: Path, rel: str) -> None:
    from brainbrr.synthetic import write_recording

    edf = tmp_path / "corpus" / rel
    edf.parent.mkdir(parents=True)
    write_recording(edf, fs=128, duration_s=70, annotations=False)
    ingest(tmp_path / "corpus", tmp_path / "s.zarr", corpus="tusz")
    ds = ZarrWindowDataset(tmp_path / "s.zarr", drop_unlabeled=False)
    assert ds.paths == [rel] and [brainbrr.rid_to_path(r) for r in ds.rids] == [rel]
    with pytest.raises(brainbrr.StoreError, match="shortened with a hash"):
        brainbrr.rid_to_path("a" * 200 + "~h" + "0" * 32)
