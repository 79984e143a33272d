"""The ``brainbrr-ingest`` command (also ``brainbrr ingest`` and ``brainbrr
demo``): its flags, the config and options they make, the run, and the
summary it prints. The ``brainbrr`` entry points live in :mod:`brainbrr.cli`.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any

from brainbrr.errors import BrainbrrError, StrictStop
from brainbrr.ingest import IngestOptions, SplitStats, Summary, ingest_with
from brainbrr.progress import Progress


def print_error(e: BaseException | str) -> None:
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
    if len(s.corpora) > 1:
        for corpus, splits in sorted(s.corpora.items()):
            lines.append(f"corpus {corpus or '(unrecorded)'}:")
            lines.append(format_splits(splits))
    elif s.splits:
        lines.append(format_splits(s.splits))
    if s.cancelled:
        lines.append("interrupted: committed recordings are kept; run the same command again to continue")
    return "\n".join(lines)


def read_config(path: str) -> dict[str, Any]:
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


def config_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The ``--config`` file's overrides with the flags applied on top."""
    config: dict[str, Any] = read_config(args.config) if args.config else {}
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


def ingest_options(args: argparse.Namespace) -> IngestOptions:
    """The options the flags give: the one place the flags' names meet the options'."""
    return IngestOptions(
        n_jobs=args.jobs,
        overwrite=args.overwrite,
        wait=args.wait,
        strict=args.strict,
        zstd_level=args.zstd,
        files=args.files,
        layout=args.layout,
        stage=getattr(args, "stage", None),
        corpus=getattr(args, "corpus", None),
    )


def run_ingest(source: str | Path | list[str], out: str | Path, args: argparse.Namespace) -> int:
    config = config_overrides(args)
    show = None if args.json else Progress()
    client = _dask_client(args.scheduler) if getattr(args, "scheduler", None) else None
    # A scheduler's SIGTERM (Slurm, Kubernetes, systemd) stops the ingest as
    # Ctrl-C does: workers stop, what was committed stays, exit 143.
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        summary = ingest_with(source, out, config, ingest_options(args), progress=show, client=client)
    except StrictStop as e:  # --strict: stopped at the first failed recording
        print_error(e)
        return 1
    except (KeyboardInterrupt, _Terminated) as e:
        print("\ninterrupted: committed recordings are kept; run the same command again to continue", file=sys.stderr)
        return 143 if isinstance(e, _Terminated) else 130
    finally:
        if client is not None:
            client.close()
    print(json.dumps(summary.to_dict(), indent=1) if args.json else format_summary(summary))
    if summary.found and not summary.ingested and not summary.current:
        print_error(nothing_ingested(summary))
        return 2
    return 1 if summary.failed else 0


def nothing_ingested(summary: Summary) -> str:
    """Why a run that found recordings left none in the store: the first reason of each kind."""
    parts = [f"none of the {summary.found} recordings found was ingested"]
    for what, pairs in (("skipped", summary.skipped), ("failed", summary.failed)):
        if pairs:
            parts.append(f"{len(pairs)} {what}, e.g. {pairs[0][1]}")
    return "; ".join(parts)


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


EXIT_CODES = """exit status:
  0    every recording was ingested, or skipped for a documented reason
       (montage channels missing); skips are listed in the summary and index/failures
  1    at least one recording failed (listed with its reason); the rest were ingested
       (with --strict: the run stopped at the first failure; what was committed stays)
  2    nothing was ingested: recordings were found but every one was skipped or
       failed (the first reason of each is named), bad arguments, unreadable source, a store another
       ingest is writing (its pid and host are named; --wait queues behind it), or a
       store built with another config (the differing parameters are named; use
       --overwrite to rebuild), a Dask scheduler that cannot be reached
  130  interrupted (Ctrl-C); committed recordings are kept, re-run to continue
  143  terminated (SIGTERM); as for Ctrl-C
"""


def config_flags(p: argparse.ArgumentParser) -> None:
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


def ingest_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("-j", "--jobs", type=int, default=0, help="recordings processed at once (default: all cores)")
    config_flags(p)
    p.add_argument("--zstd", type=int, metavar="LEVEL", help="compress signals with zstd (archives; not zero-copy)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON, no progress")


INGEST_HELP = "Decode, preprocess, label and window every EDF/BDF under SOURCE into one Zarr store."


def ingest_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument(
        "source",
        nargs="+",
        help="corpus root (e.g. data_ext4/tusz, or s3://bucket/tusz); every *.edf, *.EDF, *.bdf below it. "
        "Several local folders (tusz/ chbmit/ siena/) go into one store, each read as its own corpus, "
        "its recordings' paths starting with the folder's name",
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
        "(default: the TUSZ v1 and v2 layouts, or the corpus's own names)",
    )
    p.add_argument(
        "--corpus",
        choices=["tusz", "chbmit", "siena", "seizeit", "bids"],
        help="read SOURCE as this corpus: its annotations, patients, sessions and runs "
        "(default: found from the recordings' names; TUSZ when none fits)",
    )
    ingest_flags(p)
    p.set_defaults(run=lambda args: run_ingest(args.source, args.out, args))
    return p


def build_ingest_parser() -> argparse.ArgumentParser:
    return ingest_arguments(
        argparse.ArgumentParser(
            prog="brainbrr-ingest",
            description=INGEST_HELP,
            epilog=EXIT_CODES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
    )
