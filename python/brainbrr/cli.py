"""Command-line entry points: ``brainbrr`` (demo, info, verify, plot, report, edf) and ``brainbrr-ingest``."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import brainbrr
from brainbrr import _native
from brainbrr.errors import BrainbrrError
from brainbrr.ingest import SplitStats, Summary
from brainbrr.ingest_cli import (
    EXIT_CODES,
    INGEST_HELP,
    build_ingest_parser,
    config_flags,
    config_overrides,
    format_summary,
    ingest_arguments,
    ingest_flags,
    print_error,
    run_ingest,
)


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
            print_error(e)
            status = 2
    return status


def _cmd_config(args: argparse.Namespace) -> int:
    from brainbrr.preprocessing import PreprocessConfig

    print(json.dumps(PreprocessConfig.from_overrides(config_overrides(args)).to_dict(), indent=2))
    return 0


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
    status = run_ingest(out / "edf", out / "cache.zarr", args)
    if status == 0 and not args.json:
        print(f"train on it: ZarrWindowDataset({str(out / 'cache.zarr')!r}, split='train')")
    return status


#: Published totals of corpora, for ``brainbrr info --compare``: per split,
#: recordings, patients, seizure events, seizure seconds and seconds of recording.
PUBLISHED: dict[str, dict[str, dict[str, float]]] = {
    # TUSZ v2.0.3 (the corpus's own documentation).
    "tusz-2.0.3": {
        "train": {"recordings": 4664, "patients": 579, "events": 2421, "seizure_s": 175125.0, "recording_s": 3277229.0},
        "dev": {"recordings": 1832, "patients": 53, "events": 1081, "seizure_s": 71872.0, "recording_s": 1567972.0},
        "eval": {"recordings": 865, "patients": 43, "events": 469, "seizure_s": 27247.0, "recording_s": 459713.0},
    },
}


def compare(splits: dict[str, SplitStats], corpus: str) -> dict[str, dict[str, dict[str, float]]]:
    """Per split, this store's totals (``store``) beside the published ones
    (``published``), with the keys of :data:`PUBLISHED`."""
    out = {}
    for name, published in PUBLISHED[corpus].items():
        st = splits.get(name, SplitStats())
        store = {
            "recordings": st.recordings,
            "patients": st.patients,
            "events": st.seizure_events,
            "seizure_s": st.seizure_seconds,
            "recording_s": st.hours * 3600,
        }
        out[name] = {"store": store, "published": dict(published)}
    return out


def format_compare(splits: dict[str, SplitStats], corpus: str) -> str:
    """:func:`compare` as a table."""
    columns = ("recordings", "patients", "events", "seizure_s", "recording_s")
    lines = [f"{'split':<6} " + " ".join(f"{c:>21}" for c in columns) + f"   (store / {corpus})"]
    for name, c in compare(splits, corpus).items():
        got, pub = c["store"], c["published"]
        cells = (f"{got[k]:>10.0f} / {pub[k]:<8.0f}" for k in columns)
        lines.append(f"{name:<6} " + " ".join(cells))
    return "\n".join(lines)


def _cmd_info(args: argparse.Namespace) -> int:
    meta = json.loads(_native.store_info(Path(args.store)))
    index = meta.get("index", {})
    splits = index.get("splits", {})
    if args.json:
        extra = {"compare": {args.compare: compare(Summary.from_dict(index).splits, args.compare)}} if args.compare else {}
        print(json.dumps({**meta, "splits": splits, **extra}, indent=1))
        return 0
    summary = Summary.from_dict(index)
    if "recordings" in index:
        print(format_summary(summary, run="last ingest"))
    else:
        print(f"store {args.store}: index not built (state: {index.get('state', 'unknown')}); re-run the ingest")
    config = meta.get("config", {})
    montage = config.get("montage", {}).get("kind", "referential")
    print(
        f"config {meta['config_hash'][:12]}: {len(meta['channels'])} channels ({montage} montage) at {meta['fs']:g} Hz, "
        f"windows of {config.get('window_s', 0):g} s every {config.get('stride_s', 0):g} s"
    )
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


@_user_errors
def _cmd_score(args: argparse.Namespace) -> int:
    from brainbrr.scoring import score

    report = score(args.reference, args.hypothesis)
    if args.json:
        print(json.dumps(report.to_dict(), indent=1))
        return 0

    def row(name: str, s: Any) -> str:
        return f"{name:<12} {s.sensitivity:>11.4f} {s.precision:>9.4f} {s.f1:>7.4f} {s.fp_per_day:>9.2f} {s.tp:>7g} {s.fp:>7g} {s.ref_true:>8g}"

    head = f"{'':<12} {'sensitivity':>11} {'precision':>9} {'f1':>7} {'FP/24h':>9} {'tp':>7} {'fp':>7} {'ref':>8}"
    hours = report.sample.seconds / 3600
    print(f"{len(report.recordings)} recordings, {hours:.2f} h (SzCORE's rules: timescoring at 1 Hz, counts summed)")
    print(head)
    print(row("sample", report.sample))
    print(row("event", report.event))
    if args.per_recording:
        print("event-based, per recording:")
        for rec in report.recordings:
            print(f"  {rec.path}: " + row("", rec.event).strip())
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="brainbrr", description="EEG corpora to training batches.")
    p.add_argument("--version", action="version", version=f"brainbrr {brainbrr.__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="write a small TUSZ-like corpus and ingest it (the main job, on a sample)")
    demo.add_argument("--out", help="folder for the corpus and store (default: a new temporary folder)")
    demo.add_argument("--patients", type=int, default=6, help="patients to generate (default 6)")
    demo.add_argument("--seed", type=int, default=0)
    ingest_flags(demo)
    demo.set_defaults(run=_cmd_demo, files=None, strict=False, wait=False, layout=None)
    ingest_arguments(
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
    config_flags(config)
    config.set_defaults(run=_cmd_config)
    score = sub.add_parser(
        "score", help="score a hypothesis tree of SzCORE *_events.tsv files against a reference tree, as SzCORE does"
    )
    score.add_argument("reference", help="the reference tree (e.g. written by events.write_events_tsv)")
    score.add_argument("hypothesis", help="the hypothesis tree; a file missing there is a hypothesis without events")
    score.add_argument("--json", action="store_true", help="every recording and the totals as JSON (NaN as null)")
    score.add_argument("--per-recording", action="store_true", help="also print each recording's event-based scores")
    score.set_defaults(run=_cmd_score)
    edf = sub.add_parser("edf", help="print the header, annotations and warnings of EDF/BDF files")
    edf.add_argument("files", nargs="+")
    edf.set_defaults(run=_cmd_edf)
    return p


def _run(args: argparse.Namespace) -> int:
    """Run a subcommand; bad input (a missing path, a folder that is no store) is one error line and exit 2."""
    try:
        return int(args.run(args))
    except (BrainbrrError, OSError) as e:
        print_error(e)
        return 2


def main(argv: Sequence[str] | None = None) -> int:
    """``brainbrr``: the demo and inspection commands."""
    return _run(build_parser().parse_args(argv))


def ingest_main(argv: Sequence[str] | None = None) -> int:
    """``brainbrr-ingest SOURCE --out STORE``."""
    return _run(build_ingest_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
