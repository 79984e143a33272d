"""Command-line entry points: ``brainbrr`` (demo, edf) and ``brainbrr-ingest``."""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import brainbrr
from brainbrr.errors import BrainbrrError


def _describe_edf(path: Path) -> str:
    rec = brainbrr.read_edf(path)
    rates = sorted({round(r, 3) for r in rec.sample_rates})
    lines = [
        f"{path}: {rec.file_type}, {len(rec)} signals at {', '.join(f'{r:g}' for r in rates)} Hz, "
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
            print(f"error: {e}", file=sys.stderr)
            status = 1
    return status


def _cmd_demo(args: argparse.Namespace) -> int:
    from brainbrr.synthetic import make_corpus

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="brainbrr-demo-"))
    files = make_corpus(out, n_patients=args.patients, seed=args.seed)
    mb = sum(f.path.stat().st_size for f in files) / 1e6
    print(f"wrote a TUSZ-like sample corpus: {len(files)} EDF files, {mb:.1f} MB, under {out / 'edf'}")
    seizures = sum(len(f.seizures) for f in files)
    print(f"  {len({f.patient for f in files})} patients, {seizures} seizures, rates {sorted({f.fs for f in files})} Hz")
    for f in files[:3]:
        print(_describe_edf(f.path))
    print("  ...")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="brainbrr", description="EEG corpora to training batches.")
    p.add_argument("--version", action="version", version=f"brainbrr {brainbrr.__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="write a small TUSZ-like corpus and run the main job on it")
    demo.add_argument("--out", help="folder for the corpus (default: a new temporary folder)")
    demo.add_argument("--patients", type=int, default=6, help="patients to generate (default 6)")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(run=_cmd_demo)
    edf = sub.add_parser("edf", help="print the header, annotations and warnings of EDF/BDF files")
    edf.add_argument("files", nargs="+")
    edf.set_defaults(run=_cmd_edf)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """``brainbrr``: the demo and inspection commands."""
    args = build_parser().parse_args(argv)
    return int(args.run(args))


def ingest_main(argv: Sequence[str] | None = None) -> int:
    """``brainbrr-ingest SOURCE --out STORE``."""
    raise SystemExit("brainbrr-ingest: the ingest is not built yet (issue 4)")


if __name__ == "__main__":
    sys.exit(main())
