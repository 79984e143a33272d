"""Type stubs of the native extension ``brainbrr._native``."""

from __future__ import annotations

import datetime as _dt
import os as _os
import pathlib as _pathlib
from collections.abc import Sequence as _Sequence
from typing import Any as _Any
from typing import final

import numpy as _np
import numpy.typing as _npt

__version__: str

# --- edf ---

@final
class EdfRecording:
    """An open EDF/EDF+/BDF file; samples are decoded on request from a memory map."""

    @property
    def path(self) -> str: ...
    @property
    def file_type(self) -> str: ...
    @property
    def patient(self) -> str: ...
    @property
    def recording(self) -> str: ...
    @property
    def start(self) -> _dt.datetime | None: ...
    @property
    def record_duration(self) -> float: ...
    @property
    def n_records(self) -> int: ...
    @property
    def duration(self) -> float: ...
    @property
    def labels(self) -> list[str]: ...
    @property
    def sample_rates(self) -> list[float]: ...
    @property
    def samples_per_record(self) -> list[int]: ...
    @property
    def n_samples(self) -> list[int]: ...
    @property
    def physical_dimensions(self) -> list[str]: ...
    @property
    def physical_min(self) -> list[float]: ...
    @property
    def physical_max(self) -> list[float]: ...
    @property
    def digital_min(self) -> list[float]: ...
    @property
    def digital_max(self) -> list[float]: ...
    @property
    def prefilters(self) -> list[str]: ...
    @property
    def transducers(self) -> list[str]: ...
    @property
    def degenerate(self) -> list[str | None]: ...
    @property
    def annotations(self) -> list[tuple[float, float | None, str]]: ...
    @property
    def record_onsets(self) -> _npt.NDArray[_np.float64]: ...
    @property
    def warnings(self) -> list[str]: ...
    def __len__(self) -> int: ...
    def signal(self, i: int, dtype: _npt.DTypeLike | None = None) -> _npt.NDArray[_np.floating]: ...
    def signals(
        self, indices: list[int] | None = None, dtype: _npt.DTypeLike | None = None
    ) -> list[_npt.NDArray[_np.floating]]: ...
    def digital(self, i: int) -> _npt.NDArray[_np.int32]: ...

def read_edf(path: str | _os.PathLike[str]) -> EdfRecording: ...
def write_edf(
    path: str | _os.PathLike[str],
    signals: list[_npt.NDArray[_np.float64]],
    sample_rates: list[float],
    labels: list[str],
    *,
    record_duration: float = 1.0,
    patient: str = ...,
    recording: str = ...,
    start: _dt.datetime | None = None,
    annotations: list[tuple[float, float | None, str]] = ...,
) -> None: ...

# --- preprocessing (dsp, config) ---

def preprocess(
    x: _npt.NDArray[_np.float64], fs: float, config_json: str | None = None
) -> tuple[_npt.NDArray[_np.float32], float]: ...
def default_config_json() -> str: ...
def canonical_config_json(config_json: str) -> str: ...
def config_hash(config_json: str) -> str: ...
def config_diff(a_json: str, b_json: str) -> list[tuple[str, str, str]]: ...
def _butter_ba(
    order: int, cutoff: list[float], btype: str, fs: float
) -> tuple[_npt.NDArray[_np.float64], _npt.NDArray[_np.float64]]: ...
def _butter_sos(order: int, cutoff: list[float], btype: str, fs: float) -> _npt.NDArray[_np.float64]: ...
def _iirnotch(f0: float, q: float, fs: float) -> tuple[_npt.NDArray[_np.float64], _npt.NDArray[_np.float64]]: ...
def _lfilter(
    b: _npt.NDArray[_np.float64], a: _npt.NDArray[_np.float64], x: _npt.NDArray[_np.float64]
) -> _npt.NDArray[_np.float64]: ...
def _sosfilt(sos: _npt.NDArray[_np.float64], x: _npt.NDArray[_np.float64]) -> _npt.NDArray[_np.float64]: ...
def _filtfilt(
    b: _npt.NDArray[_np.float64],
    a: _npt.NDArray[_np.float64],
    x: _npt.NDArray[_np.float64],
    padlen: int | None = None,
) -> _npt.NDArray[_np.float64]: ...
def _sosfiltfilt(
    sos: _npt.NDArray[_np.float64], x: _npt.NDArray[_np.float64], padlen: int | None = None
) -> _npt.NDArray[_np.float64]: ...
def _lfilter_zi(b: _npt.NDArray[_np.float64], a: _npt.NDArray[_np.float64]) -> _npt.NDArray[_np.float64]: ...
def _sosfilt_zi(sos: _npt.NDArray[_np.float64]) -> _npt.NDArray[_np.float64]: ...
def _resample(x: _npt.NDArray[_np.float64], num: int) -> _npt.NDArray[_np.float64]: ...
def _resample_poly(x: _npt.NDArray[_np.float64], up: int, down: int) -> _npt.NDArray[_np.float64]: ...
def _rational_ratio(fs_in: float, fs_out: float) -> tuple[int, int]: ...

# --- montage ---

def default_montage_channels() -> list[str]: ...
def normalize_label(label: str, config_json: str | None = None) -> str: ...
def pick_channels(labels: list[str], config_json: str | None = None) -> list[int | None]: ...
def interpolation_matrix(good: list[str], bad: list[str]) -> _npt.NDArray[_np.float64]: ...
def apply_montage(
    labels: list[str],
    signals: list[_npt.NDArray[_np.float64]],
    config_json: str | None = None,
) -> _npt.NDArray[_np.float64]: ...

# --- labels ---

def find_annotation(edf_path: str | _os.PathLike[str], config_json: str | None = None) -> _pathlib.Path | None: ...
def parse_annotation(path: str | _os.PathLike[str], config_json: str | None = None) -> dict[str, _Any]: ...
def sample_labels(
    path: str | _os.PathLike[str] | None,
    n_samples: int,
    fs: float,
    config_json: str | None = None,
) -> _npt.NDArray[_np.uint8]: ...
def windows(
    labels: _npt.NDArray[_np.uint8], fs: float, window_s: float, stride_s: float
) -> tuple[_npt.NDArray[_np.int64], _npt.NDArray[_np.uint8], _npt.NDArray[_np.float32]]: ...

# --- store ---

def store_info(path: str | _os.PathLike[str]) -> str: ...
def verify_store(path: str | _os.PathLike[str], jobs: int = 0) -> dict[str, _Any]: ...
def chunk_path(path: str | _os.PathLike[str], rid: str, array: str) -> _pathlib.Path: ...
def read_index(path: str | _os.PathLike[str]) -> dict[str, _Any]: ...

@final
def pull(url: str, out: str | _os.PathLike[str]) -> tuple[int, int]: ...

class StoreReader:
    """A store opened for reading: root metadata, the checked index, checked chunk files."""

    def __new__(
        cls, path: str | _os.PathLike[str], cache_dir: str | _os.PathLike[str] | None = None, cache_bytes: int | None = None
    ) -> StoreReader: ...
    @property
    def path(self) -> _pathlib.Path: ...
    @property
    def meta(self) -> str: ...
    def index(self) -> dict[str, _Any]: ...
    def recording(
        self, rid: str, n_samples: int, store_id: str | None = None, checksums: bool = False
    ) -> tuple[_pathlib.Path, _pathlib.Path, bool]: ...
    def types(self, rid: str) -> _npt.NDArray[_np.uint8]: ...
    def windows(
        self, recordings: list[tuple[int, str]], window_s: float, stride_s: float
    ) -> tuple[
        _npt.NDArray[_np.int64],
        _npt.NDArray[_np.int64],
        _npt.NDArray[_np.uint8],
        _npt.NDArray[_np.float32],
        _npt.NDArray[_np.uint8],
        int,
        int,
    ]: ...
def _write_test_store(
    path: str | _os.PathLike[str],
    recordings: list[tuple[str, _npt.NDArray[_np.float32] | _npt.NDArray[_np.uint16], _npt.NDArray[_np.uint8]]],
    config_json: str = "{}",
    index: dict[str, _Any] | None = None,
    fs: float = 256.0,
) -> None: ...

# --- ingest ---

def ingest(
    source: str | _os.PathLike[str],
    out: str | _os.PathLike[str],
    config_json: str | None = None,
    *,
    jobs: int = 0,
    overwrite: bool = False,
    wait: bool = False,
    strict: bool = False,
    zstd_level: int | None = None,
    files: str | _os.PathLike[str] | None = None,
    layout: str | None = None,
    progress: _Any | None = None,
    stage: str | _os.PathLike[str] | None = None,
) -> str: ...
def ingest_batch(
    source: str | _os.PathLike[str],
    out: str | _os.PathLike[str],
    config_json: str,
    run: str,
    batch: _Sequence[tuple[str | _os.PathLike[str], int]],
    *,
    jobs: int = 1,
    strict: bool = False,
    zstd_level: int | None = None,
    layout: str | None = None,
) -> str: ...
@final
class IngestDriver:
    """The driver of a distributed ingest: holds the store's writer lock until ``finish``."""

    def __new__(
        cls,
        source: str | _os.PathLike[str],
        out: str | _os.PathLike[str],
        config_json: str | None = None,
        *,
        overwrite: bool = False,
        wait: bool = False,
        strict: bool = False,
        zstd_level: int | None = None,
        files: str | _os.PathLike[str] | None = None,
        layout: str | None = None,
    ) -> IngestDriver: ...
    @property
    def run_id(self) -> str: ...
    def started(self) -> str: ...
    def queue(self) -> list[tuple[str, str, int]]: ...
    def absorb(self, summary_json: str) -> bool: ...
    def stop(self) -> None: ...
    def finish(self, *, jobs: int = 0, cancelled: bool = False, progress: _Any | None = None) -> str: ...

# --- gather ---


@final
class WindowGatherer:
    """Windows of a store's recordings gathered into batches by Rust threads."""

    def __new__(
        cls,
        paths: _Sequence[str | _os.PathLike[str]],
        n_samples: _Sequence[int],
        n_channels: int,
        dtype: str,
        threads: int = 0,
        io: str = "read",
    ) -> WindowGatherer: ...
    def __len__(self) -> int: ...
    def gather(
        self,
        recordings: _npt.NDArray[_np.int64],
        starts: _npt.NDArray[_np.int64],
        out: _npt.NDArray[_np.float32] | _npt.NDArray[_np.uint16],
    ) -> None: ...
