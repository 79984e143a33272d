"""Type stubs of the native extension ``brainbrr._native``."""

from __future__ import annotations

import datetime as _dt
import os as _os
import pathlib as _pathlib
from collections.abc import Callable as _Callable
from collections.abc import Sequence as _Sequence
from typing import Any as _Any
from typing import ClassVar as _ClassVar
from typing import Self as _Self
from typing import final

import numpy as _np
import numpy.typing as _npt
from typing_extensions import disjoint_base

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

@disjoint_base
class PreprocessConfig:
    """A validated preprocessing config: the Rust struct the ingest uses."""

    def __new__(cls, json: str) -> _Self: ...
    @property
    def json(self) -> str: ...
    @property
    def hash(self) -> str: ...
    @property
    def target_fs(self) -> float: ...
    @property
    def window_s(self) -> float: ...
    @property
    def stride_s(self) -> float: ...
    @property
    def channels(self) -> list[str]: ...
    def diff(self, other: PreprocessConfig) -> list[tuple[str, str, str]]: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...
    def __reduce__(self) -> tuple[type[_Self], tuple[str]]: ...


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

def type_classes(types: str | dict[str, int]) -> tuple[_npt.NDArray[_np.uint8], list[str]]: ...
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
def rid_path(rid: str) -> bytes: ...
def read_index(path: str | _os.PathLike[str]) -> dict[str, _Any]: ...

def pull(url: str, out: str | _os.PathLike[str]) -> tuple[int, int]: ...
@final
class StoreReader:
    """A store opened for reading: root metadata, the checked index, checked chunk files."""

    def __new__(
        cls, path: str | _os.PathLike[str], cache_dir: str | _os.PathLike[str] | None = None, cache_bytes: int | None = None
    ) -> StoreReader: ...
    @property
    def path(self) -> _pathlib.Path: ...
    @property
    def meta(self) -> str: ...
    def record_use(self, rids: list[str]) -> None: ...
    def index(self) -> dict[str, _Any]: ...
    def recording(
        self, rid: str, n_samples: int, store_id: str | None = None, checksums: bool = False
    ) -> tuple[_pathlib.Path, _pathlib.Path, bool]: ...
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
    def events(
        self, rid: str, min_duration_s: float = 0.0, merge_gap_s: float = 0.0, start: int = 0, stop: int | None = None
    ) -> tuple[_npt.NDArray[_np.int64], _npt.NDArray[_np.int64], _npt.NDArray[_np.uint8]] | None: ...


# --- ingest ---

@final
class IngestOptions:
    """How to run an ingest: built once, passed whole to the local run, the driver and its tasks."""

    def __new__(
        cls,
        *,
        n_jobs: int = 0,
        overwrite: bool = False,
        wait: bool = False,
        strict: bool = False,
        zstd_level: int | None = None,
        files: str | _os.PathLike[str] | None = None,
        layout: str | None = None,
        stage: str | _os.PathLike[str] | None = None,
        corpus: str | None = None,
    ) -> IngestOptions: ...
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: _ClassVar[None]  # type: ignore[assignment]
    def __getnewargs_ex__(self) -> tuple[tuple[()], dict[str, _Any]]: ...

def ingest(
    sources: _Sequence[str | _os.PathLike[str]],
    out: str | _os.PathLike[str],
    config_json: str | None = None,
    options: IngestOptions | None = None,
    *,
    progress: _Callable[[dict[str, _Any]], object] | None = None,
) -> dict[str, _Any]: ...
def ingest_batch(
    source: str | _os.PathLike[str],
    out: str | _os.PathLike[str],
    config_json: str,
    run: str,
    batch: _Sequence[tuple[str | _os.PathLike[str], int, dict[str, _Any] | None]],
    options: IngestOptions | None = None,
) -> dict[str, _Any]: ...
@final
class IngestDriver:
    """The driver of a distributed ingest: holds the store's writer lock until ``finish``."""

    def __new__(
        cls,
        sources: _Sequence[str | _os.PathLike[str]],
        out: str | _os.PathLike[str],
        config_json: str | None = None,
        options: IngestOptions | None = None,
    ) -> IngestDriver: ...
    @property
    def run_id(self) -> str: ...
    @property
    def options(self) -> IngestOptions: ...
    def started(self) -> dict[str, _Any]: ...
    def queue(self) -> list[tuple[_pathlib.Path, str, int, dict[str, _Any] | None]]: ...
    def absorb(self, summary: dict[str, _Any]) -> bool: ...
    def stop(self) -> None: ...
    def finish(
        self, *, cancelled: bool = False, progress: _Callable[[dict[str, _Any]], object] | None = None
    ) -> dict[str, _Any]: ...

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
