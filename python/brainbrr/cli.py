"""Command-line entry points: ``brainbrr`` (demo, info, verify, plot, report, edf) and ``brainbrr-ingest``."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import brainbrr
from brainbrr import _native
from brainbrr.errors import BrainbrrError, StrictStop
from brainbrr.ingest import SplitStats, Summary, ingest
from brainbrr.progress import Progress


def _rate(hz: float) -> str:
    """A sampling rate as a reader expects it: ``250 Hz``, ``0.0167 Hz`` (never ``0 Hz``)."""
    return f"{hz:.4g} Hz"


def _describe_rates(rates: Sequence[float]) -> str:
    """``1 Hz and 250 Hz``, ``1 Hz, 100 Hz and 250 Hz``: each rate with its unit."""
    names = [_rate(r) for r in sorted(set(rates))]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _describe_edf(path: Path) -> str:
    rec = brainbrr.read_edf(path)
    lines = [
        f"{path}: {rec.file_type}, {len(rec)} signals at {_describe_rates(rec.sample_rates) if len(rec) else 'no rate'}, "
        f"{rec.n_records} records of {rec.record_duration:g} s ({rec.duration / 60:.1f} min), start {rec.start}",
        f"  labels: {', '.join(rec.labels)}",
    ]
    lines += [f"  annotation: {onset:g} s {text}" for onset, _, text in rec.annotations[:5]]
    lines += [f"  warning: {w}" for w in rec.warnings]
    return "\n".join(lines)


def _cmd_edf(args: argparse.Namespace) -> int:
    status = 0
    for path in args.files:
        try:
            print(_describe_edf(Path(path)))
        except (BrainbrrError, OSError) as e:
            _error(e)
            status = 2
    return status


def _error(e: BaseException | str) -> None:
    """One ``error: ...`` line on stderr; brainbrr's messages name the path and the problem."""
    if isinstance(e, OSError) and e.filename is not None and e.strerror:
        e = f"{e.filename}: {e.strerror}"
    print(f"error: {e}", file=sys.stderr)


def format_summary(s: Summary, run: str = "this run") -> str:
    """The human-readable ingest summary; ``run`` names whose run statistics these are."""
    lines = [
        f"store {s.store}: {s.recordings} recordings, {s.hours:.2f} h, "
        f"{s.windows} windows ({s.seizure_windows} with seizure, {s.unlabeled_windows} unlabeled), "
        f"{s.store_bytes / 1e6:.1f} MB",
        f"{run}: {s.found} found, {s.ingested} ingested, {s.current} already current, "
        f"{len(s.skipped)} skipped, {len(s.failed)} failed, "
        f"{s.source_bytes / 1e6:.1f} MB of EDF in {s.seconds:.1f} s",
    ]
    lines += [f"  skipped {path}: {reason}" for path, reason in s.skipped]
    lines += [f"  FAILED  {path}: {reason}" for path, reason in s.failed]
    lines += [f"  warning {path or 'store'}: {text}" for path, text in s.warnings]
    if s.splits:
        lines.append(format_splits(s.splits))
    if s.cancelled:
        lines.append("interrupted: committed recordings are kept; run the same command again to continue")
    return "\n".join(lines)


def _read_config(path: str) -> dict[str, Any]:
    try:
        config = json.loads(Path(path).read_text())
    except json.JSONDecodeError as e:
        raise BrainbrrError(f"{path}: not a JSON config: {e}") from None
    if not isinstance(config, dict):
        raise BrainbrrError(f"{path}: a config is a JSON object of overrides, not {type(config).__name__}")
    return config


class _Terminated(Exception):
    """SIGTERM, raised on the main thread so that the ingest stops as on Ctrl-C."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated


def _config_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The ``--config`` file's overrides with the flags applied on top."""
    config: dict[str, Any] = _read_config(args.config) if args.config else {}
    if args.fs is not None:
        config["target_fs"] = args.fs
    if args.montage is not None:
        # The flag picks a preset: the file's pairs and optional electrodes belong to its own kind.
        montage = config.get("montage")
        kept = {k: v for k, v in (montage if isinstance(montage, dict) else {}).items() if k not in ("pairs", "optional")}
        config["montage"] = {**kept, "kind": args.montage}
    if args.window is not None:
        config["window_s"] = args.window
    if args.stride is not None:
        config["stride_s"] = args.stride
    if args.float16:
        config["dtype"] = "float16"
    return config


def _cmd_config(args: argparse.Namespace) -> int:
    from brainbrr.preprocessing import PreprocessConfig

    print(json.dumps(PreprocessConfig.from_overrides(_config_overrides(args)).to_dict(), indent=2))
    return 0


def _run_ingest(source: str | Path, out: str | Path, args: argparse.Namespace) -> int:
    config = _config_overrides(args)
    show = None if args.json else Progress()
    client = _dask_client(args.scheduler) if getattr(args, "scheduler", None) else None
    # A scheduler's SIGTERM (Slurm, Kubernetes, systemd) stops the ingest as
    # Ctrl-C does: workers stop, what was committed stays, exit 143.
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        summary = ingest(
            source,
            out,
            config,
            n_jobs=args.jobs,
            overwrite=args.overwrite,
            wait=args.wait,
            strict=args.strict,
            zstd_level=args.zstd,
            files=args.files,
            layout=args.layout,
            progress=show,
            client=client,
            stage=getattr(args, "stage", None),
        )
    except StrictStop as e:  # --strict: stopped at the first failed recording
        _error(e)
        return 1
    except (KeyboardInterrupt, _Terminated) as e:
        print("\ninterrupted: committed recordings are kept; run the same command again to continue", file=sys.stderr)
        return 143 if isinstance(e, _Terminated) else 130
    finally:
        if client is not None:
            client.close()
    print(json.dumps(summary.to_dict(), indent=1) if args.json else format_summary(summary))
    return 1 if summary.failed else 0


def _dask_client(address: str) -> Any:
    """A ``distributed.Client`` of the scheduler at ``address``; a clear error when it cannot be had."""
    try:
        from distributed import Client
    except ImportError:
        raise BrainbrrError(
            "--scheduler needs Dask's distributed package: pip install 'brainbrr[dask]'"
        ) from None
    try:
        return Client(address, timeout=10)
    except (OSError, ValueError) as e:  # TimeoutError is an OSError
        raise BrainbrrError(f"cannot reach the Dask scheduler at {address}: {e}") from None


def _cmd_demo(args: argparse.Namespace) -> int:
    from brainbrr.synthetic import make_corpus

    if args.out:
        out = Path(args.out)
        # The demo writes a corpus and a store of its own: mixed with other files,
        # neither would be the demo's any more, so it never writes beside them.
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise BrainbrrError(f"{out}: exists and is not an empty folder; give --out a new or empty folder")
    else:
        out = Path(tempfile.mkdtemp(prefix="brainbrr-demo-"))
    files = make_corpus(out, n_patients=args.patients, seed=args.seed)
    mb = sum(f.path.stat().st_size for f in files) / 1e6
    # With --json, stdout is the summary alone.
    say = sys.stderr if args.json else sys.stdout
    print(f"wrote a TUSZ-like sample corpus: {len(files)} EDF files, {mb:.1f} MB, under {out / 'edf'}", file=say)
    print(f"brainbrr-ingest {out / 'edf'} --out {out / 'cache.zarr'}", file=say)
    args.overwrite = True
    status = _run_ingest(out / "edf", out / "cache.zarr", args)
    if status == 0 and not args.json:
        print(f"train on it: ZarrWindowDataset({str(out / 'cache.zarr')!r}, split='train')")
    return status


#: Published totals of corpora, for ``brainbrr info --compare``: per split,
#: seizure events, seizure seconds and seconds of recording.
PUBLISHED: dict[str, dict[str, tuple[int, float, float]]] = {
    # TUSZ v2.0.3 (the corpus's own documentation).
    "tusz-2.0.3": {
        "train": (2421, 175125.0, 3277229.0),
        "dev": (1081, 71872.0, 1567972.0),
        "eval": (469, 27247.0, 459713.0),
    },
}


def format_splits(splits: dict[str, SplitStats]) -> str:
    """The per-split statistics as an aligned table, with seizure seconds per type."""
    head = f"{'split':<8} {'recordings':>10} {'patients':>8} {'hours':>9} {'windows':>9} {'seizure win':>11} {'events':>7} {'seizure s':>10} {'unlabeled':>9}"
    lines = [head]
    for name, st in sorted(splits.items()):
        lines.append(
            f"{name or '(none)':<8} {st.recordings:>10} {st.patients:>8} {st.hours:>9.2f} {st.windows:>9} "
            f"{st.seizure_windows:>11} {st.seizure_events:>7} {st.seizure_seconds:>10.1f} {st.unlabeled_recordings:>9}"
        )
        by_type = ", ".join(f"{t} {sec:.1f} s" for t, sec in sorted(st.seizure_seconds_by_type.items()))
        if by_type:
            lines.append(f"{'':<8} seizure seconds by type: {by_type}")
    return "\n".join(lines)


def format_compare(splits: dict[str, SplitStats], corpus: str) -> str:
    """This store's events, seizure seconds and recording seconds beside the published ones."""
    lines = [f"{'split':<6} {'events':>16} {'seizure s':>22} {'recording s':>24}   (store / {corpus})"]
    for name, (events, seizure_s, total_s) in PUBLISHED[corpus].items():
        st = splits.get(name, SplitStats())
        got = (st.seizure_events, st.seizure_seconds, st.hours * 3600)
        lines.append(
            f"{name:<6} {got[0]:>7} / {events:<8} {got[1]:>10.0f} / {seizure_s:<10.0f} {got[2]:>11.0f} / {total_s:<11.0f}"
        )
    return "\n".join(lines)


def _cmd_info(args: argparse.Namespace) -> int:
    meta = json.loads(_native.store_info(Path(args.store)))
    index = meta.get("index", {})
    splits = index.get("splits", {})
    if args.json:
        print(json.dumps({**meta, "splits": splits}, indent=1))
        return 0
    summary = Summary.from_dict(index)
    if "recordings" in index:
        print(format_summary(summary, run="last ingest"))
    else:
        print(f"store {args.store}: index not built (state: {index.get('state', 'unknown')}); re-run the ingest")
    print(f"config {meta['config_hash'][:12]}: {len(meta['channels'])} channels at {meta['fs']:g} Hz")
    if args.compare:
        print(format_compare(summary.splits, args.compare))
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    t0 = time.monotonic()
    report = _native.verify_store(Path(args.store), jobs=args.jobs)
    seconds = time.monotonic() - t0
    problems = report["problems"]
    for p in problems:
        print(p)
    gb = report["checksummed_bytes"] / 1e9
    unchecked = report["unchecksummed"]
    checked = (
        f"{report['recordings']} recordings against the root and their metadata, "
        f"{report['checksummed']} chunk checksums ({gb:.2f} GB in {seconds:.1f} s"
        + (f"; {unchecked} chunks written without one" if unchecked else "")
        + f"), {report['windows']} windows against a rebuild from the stored labels"
    )
    verdict = "OK" if not problems else f"{len(problems)} problems"
    # The verdict and what it covers, on the last line; problems above it.
    print(f"{args.store}: {verdict} (checked {checked})")
    return 1 if problems else 0


def _cmd_pull(args: argparse.Namespace) -> int:
    t0 = time.monotonic()
    objects, downloaded = _native.pull(args.url, Path(args.dir))
    seconds = time.monotonic() - t0
    print(
        f"{args.dir}: {objects} objects of {args.url}; {downloaded / 1e6:.1f} MB downloaded in {seconds:.1f} s "
        f"({downloaded / 1e6 / max(seconds, 1e-9):.0f} MB/s), checksums checked"
    )
    return 0


def _user_errors(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """``run`` with its ValueError (a bad recording or time) and ImportError
    (matplotlib missing) made one error line and exit 2, as a BrainbrrError is."""

    def wrapped(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except (ImportError, ValueError) as e:
            raise BrainbrrError(str(e)) from e

    return wrapped


@_user_errors
def _cmd_plot(args: argparse.Namespace) -> int:
    from brainbrr.dataset import ZarrWindowDataset
    from brainbrr.plot import plot_segment

    out = Path(args.out)
    if out.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise BrainbrrError(f"--out {out}: the file name must end in .png, .svg or .pdf")
    ds = ZarrWindowDataset(args.store, drop_unlabeled=False)
    plot_segment(ds, args.recording, args.start, args.seconds).savefig(out, dpi=args.dpi)
    print(f"wrote {out}")
    return 0


@_user_errors
def _cmd_report(args: argparse.Namespace) -> int:
    from brainbrr.report import write_report

    print(f"wrote {write_report(args.store, args.out, examples=args.examples)}")
    return 0


EXIT_CODES = """exit status:
  0    every recording was ingested, or skipped for a documented reason
       (montage channels missing); skips are listed in the summary and index/failures
  1    at least one recording failed (listed with its reason); the rest were ingested
       (with --strict: the run stopped at the first failure; what was committed stays)
  2    nothing was ingested: bad arguments, unreadable source, a store another
       ingest is writing (its pid and host are named; --wait queues behind it), or a
       store built with another config (the differing parameters are named; use
       --overwrite to rebuild), a Dask scheduler that cannot be reached
  130  interrupted (Ctrl-C); committed recordings are kept, re-run to continue
  143  terminated (SIGTERM); as for Ctrl-C
"""


def _config_options(p: argparse.ArgumentParser) -> None:
    """The flags that shape the config; each overrides the ``--config`` file."""
    p.add_argument("--config", help="JSON file of preprocessing overrides (brainbrr config --print shows them all)")
    p.add_argument(
        "--fs", type=float, help="output sampling rate in Hz (default 256; bandpass.high follows it unless set)"
    )
    p.add_argument(
        "--montage",
        choices=["referential", "tcp"],
        help="referential: 19 channels (default); tcp: the 22 TCP bipolar pairs, A1/A2 optional",
    )
    p.add_argument("--window", type=float, help="window length in seconds (default 60)")
    p.add_argument("--stride", type=float, help="window stride in seconds (default 10)")
    p.add_argument("--float16", action="store_true", help="store signals as float16")


def _ingest_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-j", "--jobs", type=int, default=0, help="recordings processed at once (default: all cores)")
    _config_options(p)
    p.add_argument("--zstd", type=int, metavar="LEVEL", help="compress signals with zstd (archives; not zero-copy)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON, no progress")


INGEST_HELP = "Decode, preprocess, label and window every EDF/BDF under SOURCE into one Zarr store."


def _ingest_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument(
        "source", help="corpus root (e.g. data_ext4/tusz, or s3://bucket/tusz); every *.edf, *.EDF, *.bdf below it"
    )
    p.add_argument(
        "--out", required=True, help="the store (created, or continued if it exists); a folder or s3://bucket/prefix"
    )
    p.add_argument(
        "--stage",
        metavar="DIR",
        help="for an s3:// store: the local staging folder (default: this process's own in the temporary folder, "
        "removed at the end)",
    )
    p.add_argument("--files", help="ingest only the files listed here, one path per line relative to SOURCE")
    p.add_argument("--overwrite", action="store_true", help="empty the store and rebuild it")
    p.add_argument("--wait", action="store_true", help="if another ingest is writing the store, wait for it")
    p.add_argument("--strict", action="store_true", help="stop at the first failed recording")
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the recordings on a Dask cluster (tcp://HOST:8786); SOURCE and --out must be "
        "reachable by the same paths from every worker (a shared file system), or be s3:// URLs",
    )
    p.add_argument(
        "--layout",
        metavar="PATTERN",
        help="how split/patient/session are read from paths, e.g. '{split}/{patient}/**' "
        "(default: the TUSZ v1 and v2 layouts)",
    )
    _ingest_options(p)
    p.set_defaults(run=lambda args: _run_ingest(args.source, args.out, args))
    return p


def build_ingest_parser() -> argparse.ArgumentParser:
    return _ingest_arguments(
        argparse.ArgumentParser(
            prog="brainbrr-ingest",
            description=INGEST_HELP,
            epilog=EXIT_CODES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="brainbrr", description="EEG corpora to training batches.")
    p.add_argument("--version", action="version", version=f"brainbrr {brainbrr.__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="write a small TUSZ-like corpus and ingest it (the main job, on a sample)")
    demo.add_argument("--out", help="folder for the corpus and store (default: a new temporary folder)")
    demo.add_argument("--patients", type=int, default=6, help="patients to generate (default 6)")
    demo.add_argument("--seed", type=int, default=0)
    _ingest_options(demo)
    demo.set_defaults(run=_cmd_demo, files=None, strict=False, wait=False, layout=None)
    _ingest_arguments(
        sub.add_parser(
            "ingest",
            help="the one preprocessing step (same as brainbrr-ingest)",
            description=INGEST_HELP,
            epilog=EXIT_CODES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
    )
    info = sub.add_parser("info", help="print the summary of a store")
    info.add_argument("store")
    info.add_argument("--json", action="store_true", help="print the store's metadata and per-split statistics as JSON")
    info.add_argument(
        "--compare", choices=sorted(PUBLISHED), help="print the store's totals beside a corpus's published ones"
    )
    info.set_defaults(run=_cmd_info)
    verify = sub.add_parser("verify", help="check every recording of a store against its metadata and index")
    verify.add_argument("store")
    verify.add_argument("-j", "--jobs", type=int, default=0, help="threads (default: all cores)")
    verify.set_defaults(run=_cmd_verify)
    pull = sub.add_parser(
        "pull", help="copy a store from object storage into a local folder, in parallel (re-run to resume)"
    )
    pull.add_argument("url", help="the store, s3://bucket/prefix")
    pull.add_argument("dir", help="the local folder (new, or an earlier pull of the same store)")
    pull.set_defaults(run=_cmd_pull)
    plot = sub.add_parser("plot", help="draw a stretch of a recording: stacked channels, seizures shaded and typed")
    plot.add_argument("store")
    plot.add_argument("--recording", required=True, help="recording id, source path, or a unique part of the id")
    plot.add_argument("--start", type=float, required=True, help="start, in seconds from the start of the recording")
    plot.add_argument("--seconds", type=float, default=60.0, help="length in seconds (default 60)")
    plot.add_argument("--out", required=True, help="the image: FILE.png, FILE.svg or FILE.pdf")
    plot.add_argument("--dpi", type=int, default=100, help="resolution of a PNG (default 100)")
    plot.set_defaults(run=_cmd_plot)
    report = sub.add_parser("report", help="write a self-contained HTML summary of a store")
    report.add_argument("store")
    report.add_argument("--out", required=True, help="the HTML file to write")
    report.add_argument("--examples", type=int, default=4, help="example seizure windows to embed (default 4)")
    report.set_defaults(run=_cmd_report)
    config = sub.add_parser(
        "config", help="print the full preprocessing config (with the flags applied) as --config takes it"
    )
    config.add_argument("--print", action="store_true", required=True, help="print it (the only action)")
    _config_options(config)
    config.set_defaults(run=_cmd_config)
    edf = sub.add_parser("edf", help="print the header, annotations and warnings of EDF/BDF files")
    edf.add_argument("files", nargs="+")
    edf.set_defaults(run=_cmd_edf)
    return p


def _run(args: argparse.Namespace) -> int:
    """Run a subcommand; bad input (a missing path, a folder that is no store) is one error line and exit 2."""
    try:
        return int(args.run(args))
    except (BrainbrrError, OSError) as e:
        _error(e)
        return 2


def main(argv: Sequence[str] | None = None) -> int:
    """``brainbrr``: the demo and inspection commands."""
    return _run(build_parser().parse_args(argv))


def ingest_main(argv: Sequence[str] | None = None) -> int:
    """``brainbrr-ingest SOURCE --out STORE``."""
    return _run(build_ingest_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
