"""Regression check: ingest and loader speed of this checkout against a baseline install.

Both sides run in one invocation, alternating, so that machine noise (another
build, page-cache churn) falls on both. The baseline is another brainbrr
installed into its own Python (a virtual environment built from a git worktree
of the baseline commit); the current side is ``--current-python``, by default
the Python running this script.
Each side reads the store it wrote itself (the formats may differ).

1. Ingest: ``brainbrr-ingest CORPUS --out FRESH_STORE --json -j 2`` (each side's
   console script, beside its interpreter) on a TUSZ-like synthetic corpus of at
   least ``--min-mb`` MB of EDF (``brainbrr.synthetic.make_corpus``, generated
   once into ``--corpus``); ``os.sync()`` before each run. Wall time (parent's
   clock) and CPU time (the child's rusage), median of ``--runs`` runs per side.
2. Loader, each side in a subprocess of its own Python on its own store, page
   cache warm (every file of the store read once first): the
   ``ZarrWindowDataset(store)`` constructor; epoch 0 of
   ``ds.batches(64, shuffle=True, seed=0, device="cpu")`` on that fresh dataset
   and epoch 1 on the same one (windows/s); ``ds[i]`` for ``--items`` random i on
   another fresh dataset (first touch). Median of ``--runs`` subprocesses per side.
3. Verify (current side only; the baseline has no checksums):
   ``brainbrr verify STORE -j 1`` and ``-j 2``, the chunk bytes it checksummed
   per second and per core, from its own line ("N chunk checksums (X GB in Y s")
   and from ``_native.verify_store`` timed in-process (finer clock; it also
   rebuilds the windows, so it is a lower bound on the checksum rate).

Runs alternate in pairs, the order flipped every pair (B C, C B, B C, ...).
Reported: median per side, the ratio current / baseline of the medians (of
rates: higher is better for the current side; of times: lower is), and the
median of the per-pair ratios with their range (a noise gauge).

    python3 bench/bench_regression.py --baseline-python /work/venv-base/bin/python \\
        [--current-python /work/venv-cur/bin/python] --runs 5 --out bench/RESULTS-regression.md [--append]

``--append`` adds this run's section to ``--out`` instead of replacing it (to
keep a re-run beside the first one).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

# Only the standard library at module level: the loader child runs under
# either side's Python and imports that side's brainbrr itself.
REPO = Path(__file__).resolve().parents[1]
BATCH = 64


# --- children ----------------------------------------------------------------


def warm(store: Path) -> int:
    """Read every file of ``store`` once (page cache warm); bytes read."""
    total = 0
    for p in sorted(store.rglob("*")):
        if p.is_file():
            total += len(p.read_bytes())
    return total


def loader_child(store: Path, items: int) -> None:
    """One measured loader run in this process; prints one JSON line."""
    import numpy as np
    import torch  # noqa: F401  (imported before the clocks start)

    import brainbrr
    from brainbrr.dataset import ZarrWindowDataset

    warmed = warm(store)
    out: dict[str, object] = {"brainbrr": brainbrr.__file__, "warmed_bytes": warmed}

    t0 = time.perf_counter()
    ds = ZarrWindowDataset(store)
    out["open_s"] = time.perf_counter() - t0
    out["windows"] = len(ds)
    for epoch in (0, 1):
        n = 0
        t0 = time.perf_counter()
        for x, _ in ds.batches(BATCH, shuffle=True, seed=epoch, device="cpu"):
            n += x.shape[0]
        out[f"epoch{epoch}_s"] = time.perf_counter() - t0
        assert n == len(ds), (n, len(ds))

    t0 = time.perf_counter()
    ds2 = ZarrWindowDataset(store)
    out["open2_s"] = time.perf_counter() - t0
    idx = np.random.default_rng(0).integers(len(ds2), size=items)
    t0 = time.perf_counter()
    for i in idx:
        x, y = ds2[int(i)]
    out["getitem_s"] = time.perf_counter() - t0
    out["items"] = items
    print(json.dumps(out), flush=True)


def verify_child(store: Path, jobs: int) -> None:
    """``_native.verify_store`` timed in-process; prints one JSON line."""
    from brainbrr import _native

    t0 = time.perf_counter()
    report = _native.verify_store(store, jobs=jobs)
    s = time.perf_counter() - t0
    assert not report["problems"], report["problems"][:5]
    print(json.dumps({"seconds": s, "bytes": report["checksummed_bytes"], "checksummed": report["checksummed"]}))


# --- parent ------------------------------------------------------------------


def script_of(python: str, name: str) -> Path:
    """The console script ``name`` installed beside ``python`` (not resolved: a venv's python is a link)."""
    path = Path(python).parent / name
    if not path.exists():
        sys.exit(f"{path}: not found; is brainbrr installed into {python}?")
    return path


def native_id(init: str) -> str:
    """sha256 (12 hex) and mtime of the extension beside ``init`` (to notice a rebuild during the run)."""
    import hashlib

    so = sorted(Path(init).parent.glob("_native*.so"))
    if not so:
        return "no _native*.so beside it"
    h = hashlib.sha256(so[0].read_bytes()).hexdigest()[:12]
    mtime = dt.datetime.fromtimestamp(so[0].stat().st_mtime).strftime("%Y-%m-%d %H:%M:%S")
    return f"{so[0].name} sha256 {h}, built {mtime}"


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def order(k: int) -> tuple[str, str]:
    return ("base", "cur") if k % 2 == 0 else ("cur", "base")


def ensure_corpus(python: str, corpus: Path, patients: int, duration: tuple[int, int], min_mb: float) -> tuple[list[Path], float]:
    files = sorted((corpus / "edf").rglob("*.edf"))
    if not files:
        print(f"generating the corpus in {corpus} with {python} ...", flush=True)
        code = (
            "import sys; from brainbrr.synthetic import make_corpus; "
            "make_corpus(sys.argv[1], n_patients=int(sys.argv[2]), sessions=1, recordings_per_session=2, "
            "duration_s=(int(sys.argv[3]), int(sys.argv[4])), seed=0)"
        )
        subprocess.run([python, "-c", code, str(corpus), str(patients), *map(str, duration)], check=True, cwd="/")
        files = sorted((corpus / "edf").rglob("*.edf"))
    mb = sum(f.stat().st_size for f in files) / 1e6
    if mb < min_mb:
        sys.exit(f"{corpus}: {mb:.0f} MB of EDF, fewer than {min_mb:.0f}; delete it or raise --patients/--duration")
    return files, mb


def run_ingest(ingest: Path, corpus: Path, store: Path, jobs: int) -> dict[str, object]:
    if store.exists():
        shutil.rmtree(store)
    os.sync()  # no pending writeback from the previous run (or the removal)
    cmd = [str(ingest), str(corpus / "edf"), "--out", str(store), "--json", "-j", str(jobs)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # wait4: this child's rusage alone
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    stdout, stderr = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{shlex.join(cmd)} failed ({status}):\n{stderr[-3000:]}")
    summary = json.loads(stdout)
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "summary": summary}


def child(python: str, *args: str) -> dict[str, object]:
    cmd = [python, str(Path(__file__).resolve()), *args]
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd="/")
    if proc.returncode != 0:
        sys.exit(f"{shlex.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def med(xs: list[float]) -> float:
    return statistics.median(xs)


def pair_ratios(base: list[float], cur: list[float]) -> list[float]:
    return [c / b for b, c in zip(base, cur, strict=True)]


def fmt(x: float, unit: str) -> str:
    if unit == "s":
        return f"{x:.3f} s" if x >= 0.1 else f"{x * 1e3:.2f} ms"
    if unit == "us":
        return f"{x * 1e6:.1f} us"
    return f"{x:,.0f} {unit}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--baseline-python", help="the baseline's interpreter (its brainbrr and console scripts)")
    p.add_argument(
        "--current-python",
        default=sys.executable,
        help="the current side's interpreter (default: the one running this script); e.g. a venv built "
        "from a clean worktree of the commit under test when the checkout is being edited",
    )
    p.add_argument("--runs", type=int, default=5, help="runs per side of each measurement (medians)")
    p.add_argument("--jobs", type=int, default=2, help="brainbrr-ingest -j")
    p.add_argument("--items", type=int, default=2000, help="random ds[i] timed per loader run")
    p.add_argument("--corpus", type=Path, default=REPO / "bench" / "out" / "regression-corpus", help="corpus cache (generated once)")
    p.add_argument("--work", type=Path, default=REPO / "bench" / "out" / "regression", help="where the two stores go")
    p.add_argument("--patients", type=int, default=12, help="patients in a generated corpus (2 recordings each)")
    p.add_argument("--duration", type=int, nargs=2, default=(300, 900), metavar=("LO", "HI"))
    p.add_argument("--min-mb", type=float, default=200.0)
    p.add_argument("--out", type=Path, help="write the results as markdown here")
    p.add_argument("--append", action="store_true", help="append to --out instead of replacing it")
    p.add_argument("--loader-child", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--verify-child", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--verify-jobs", type=int, default=1, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.loader_child:
        loader_child(args.loader_child, args.items)
        return 0
    if args.verify_child:
        verify_child(args.verify_child, args.verify_jobs)
        return 0
    if not args.baseline_python:
        p.error("--baseline-python is required")
    args.work, args.corpus = args.work.resolve(), args.corpus.resolve()

    command = "python3 " + shlex.join([os.path.relpath(sys.argv[0], REPO) if sys.argv[0].endswith(".py") else sys.argv[0], *sys.argv[1:]])
    py = {"base": args.baseline_python, "cur": args.current_python}
    where: dict[str, list[str]] = {}
    for s in py:
        r = subprocess.run([py[s], "-c", "import brainbrr,sys;print(brainbrr.__file__);print(brainbrr.__version__)"],
                           capture_output=True, text=True, check=True, cwd="/")
        where[s] = r.stdout.split()
    if where["base"][0] == where["cur"][0]:
        sys.exit(f"both sides import the same brainbrr ({where['cur'][0]})")
    rev: dict[str, str] = {}
    for s in py:
        here = ["git", "-C", str(Path(where[s][0]).parent)]
        dirty = subprocess.run([*here, "status", "--short", "--untracked-files=no"], capture_output=True, text=True).stdout.strip()
        head = subprocess.run([*here, "log", "-1", "--format=%h %s"], capture_output=True, text=True).stdout.strip()
        rev[s] = head[:70] + (" (+ uncommitted changes to tracked files)" if dirty else "")
    native0 = {s: native_id(where[s][0]) for s in py}
    ingest = {s: script_of(py[s], "brainbrr-ingest") for s in py}
    stores = {s: args.work / f"{s}.zarr" for s in py}
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"baseline: {where['base'][0]} ({rev['base']})\ncurrent:  {where['cur'][0]} ({rev['cur']})", flush=True)

    files, mb = ensure_corpus(py["cur"], args.corpus.resolve(), args.patients, tuple(args.duration), args.min_mb)
    warm(args.corpus)
    load0 = load()
    started = dt.datetime.now()

    # 1. ingest
    ing: dict[str, list[dict[str, object]]] = {"base": [], "cur": []}
    for k in range(args.runs):
        for s in order(k):
            r = run_ingest(ingest[s], args.corpus, stores[s], args.jobs)
            ing[s].append(r)
            print(f"ingest {k} {s}: {r['wall_s']:.3f} s wall, {r['cpu_s']:.3f} s cpu (load {load()})", flush=True)
    load_ingest = load()

    # 2. loader
    ld: dict[str, list[dict[str, object]]] = {"base": [], "cur": []}
    for k in range(args.runs):
        for s in order(k):
            r = child(py[s], "--loader-child", str(stores[s]), "--items", str(args.items))
            assert r["brainbrr"] == where[s][0], (r["brainbrr"], where[s][0])
            ld[s].append(r)
            print(
                f"loader {k} {s}: open {r['open_s'] * 1e3:.2f} ms, epoch0 {r['epoch0_s']:.3f} s, "
                f"epoch1 {r['epoch1_s']:.3f} s, {args.items} items {r['getitem_s']:.3f} s (load {load()})",
                flush=True,
            )
    load_loader = load()

    # 3. verify (current only)
    ver: dict[int, dict[str, list]] = {}
    for j in (1, 2):
        cli = [str(script_of(py["cur"], "brainbrr")), "verify", str(stores["cur"]), "-j", str(j)]
        ver[j] = {"cli": [], "inproc": []}
        for _ in range(args.runs):
            out = subprocess.run(cli, capture_output=True, text=True, cwd="/")
            m = re.search(r"(\d+) chunk checksums \(([\d.]+) GB in ([\d.]+) s", out.stdout)
            if out.returncode != 0 or not m:
                sys.exit(f"{shlex.join(cli)}: exit {out.returncode}\n{out.stdout[-2000:]}{out.stderr[-2000:]}")
            ver[j]["cli"].append((int(m.group(1)), float(m.group(2)), float(m.group(3)), out.stdout.strip().splitlines()[-1]))
            ver[j]["inproc"].append(child(py["cur"], "--verify-child", str(stores["cur"]), "--verify-jobs", str(j)))
        print(f"verify -j {j}: {ver[j]['cli'][-1][3]}", flush=True)
    load1 = load()
    finished = dt.datetime.now()
    native1 = {s: native_id(where[s][0]) for s in py}
    changed = [s for s in py if native1[s] != native0[s]]
    if changed:
        print(f"WARNING: the extension changed during the run: {changed}", flush=True)

    # --- table ---------------------------------------------------------------
    rows: list[tuple[str, str, list[float], list[float], str]] = []  # name, unit, base, cur, better
    n_win = {s: int(ld[s][0]["windows"]) for s in py}
    rows.append(("ingest wall time", "s", [r["wall_s"] for r in ing["base"]], [r["wall_s"] for r in ing["cur"]], "lower"))
    rows.append(("ingest CPU time (user + sys)", "s", [r["cpu_s"] for r in ing["base"]], [r["cpu_s"] for r in ing["cur"]], "lower"))
    if all("seconds" in r["summary"] for s in py for r in ing[s]):
        rows.append(("  ingest's own 'seconds' (JSON summary)", "s", [r["summary"]["seconds"] for r in ing["base"]],
                     [r["summary"]["seconds"] for r in ing["cur"]], "lower"))
    rows.append(("ingest EDF MB/s (wall)", "MB/s", [mb / r["wall_s"] for r in ing["base"]], [mb / r["wall_s"] for r in ing["cur"]], "higher"))
    for e, what in ((0, "epoch 0 (fresh dataset)"), (1, "epoch 1 (same dataset)")):
        rows.append((f"ds.batches(64, cpu) {what}", "windows/s",
                     [n_win["base"] / r[f"epoch{e}_s"] for r in ld["base"]],
                     [n_win["cur"] / r[f"epoch{e}_s"] for r in ld["cur"]], "higher"))
    rows.append(("ZarrWindowDataset(store) open", "s", [r["open_s"] for r in ld["base"]], [r["open_s"] for r in ld["cur"]], "lower"))
    rows.append(("  second open in the same process", "s", [r["open2_s"] for r in ld["base"]], [r["open2_s"] for r in ld["cur"]], "lower"))
    rows.append((f"ds[i], {args.items} random i, first touch (per item)", "us",
                 [r["getitem_s"] / args.items for r in ld["base"]], [r["getitem_s"] / args.items for r in ld["cur"]], "lower"))

    lines = [
        f"## Run of {started:%Y-%m-%d %H:%M}",
        "",
        f"`{command}`",
        "",
        f"- baseline: `{where['base'][0]}`, {rev['base']}; {native0['base']}",
        f"- current: `{where['cur'][0]}`, {rev['cur']}; {native0['cur']}",
        *(
            [f"- **the extension changed during the run** ({', '.join(changed)}): now {', '.join(native1[s] for s in changed)}"]
            if changed
            else []
        ),
        f"- machine: {platform.machine()}, nproc {os.cpu_count()}, Linux {platform.release()}, Python {platform.python_version()}; "
        f"load average (1, 5, 15 min) before: {load0}; after ingest: {load_ingest}; after loader: {load_loader}; "
        f"after verify: {load1} ({(finished - started).total_seconds():.0f} s in all)",
        f"- corpus: {len(files)} TUSZ-like EDF files, {mb:.0f} MB (`make_corpus`, {args.patients} patients, "
        f"{args.duration[0]}-{args.duration[1]} s), page cache warm; stores: baseline {n_win['base']} windows, "
        f"current {n_win['cur']} windows; ingest `brainbrr-ingest CORPUS --out FRESH_STORE --json -j {args.jobs}`, "
        "`os.sync()` before each run",
        f"- {args.runs} runs per side, alternating in pairs with the order flipped each pair; loader runs each in a fresh "
        "subprocess of that side's Python, page cache warm",
        "",
        "Ratio = current / baseline of the medians; for rates below 1 means slower, for times above 1 means slower. "
        "'slower by' is the current side's loss in speed (1 - baseline time / current time). "
        "Pair ratios: median [min - max] of current / baseline within each alternating pair.",
        "",
        "| measure | baseline median | current median | ratio | current slower by | pair ratios | baseline runs | current runs |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    verdicts = []
    for name, unit, b, c, better in rows:
        ratio = med(c) / med(b)
        speed = ratio if better == "higher" else 1 / ratio  # current speed / baseline speed
        pr = pair_ratios(b, c)
        runs = lambda xs: ", ".join(fmt(x, unit).split()[0] for x in xs)  # noqa: E731
        lines.append(
            f"| {name} | {fmt(med(b), unit)} | {fmt(med(c), unit)} | {ratio:.3f} | {100 * (1 - speed):+.1f}% | "
            f"{med(pr):.3f} [{min(pr):.3f} - {max(pr):.3f}] | {runs(b)} | {runs(c)} |"
        )
        if not name.startswith("  "):
            verdicts.append((name, speed))
    lines += ["", "Verify (current side only), chunk bytes checksummed:", "",
              "| jobs | chunks | GB | CLI seconds (median) | GB/s (CLI) | GB/s per core (CLI) | in-process seconds (median) | GB/s (in-process) | GB/s per core (in-process) |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for j in (1, 2):
        n, gb = ver[j]["cli"][0][0], ver[j]["cli"][0][1]
        cs = med([c[2] for c in ver[j]["cli"]])
        ins = med([v["seconds"] for v in ver[j]["inproc"]])
        gbi = ver[j]["inproc"][0]["bytes"] / 1e9
        cli_rate = f"{gb / cs:.2f}" if cs > 0 else "n/a (0.0 s printed)"
        cli_core = f"{gb / cs / j:.2f}" if cs > 0 else "n/a"
        lines.append(f"| {j} | {n} | {gb:.2f} | {cs:.1f} | {cli_rate} | {cli_core} | {ins:.3f} | {gbi / ins:.2f} | {gbi / ins / j:.2f} |")
    lines += ["", f"CLI line (-j 2, last run): `{ver[2]['cli'][-1][3]}`", "",
              "Verify's time also covers the windows rebuilt from the labels and the metadata checks, "
              "so these rates are lower bounds on the checksum rate. The CLI prints seconds to 0.1 s.", ""]
    worse = [(n, s) for n, s in verdicts if s < 0.95]
    lines.append(
        "Worse than 5% (current speed / baseline speed < 0.95): "
        + ("; ".join(f"{n} ({s:.3f})" for n, s in worse) if worse else "none")
        + "."
    )
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    if args.out:
        if args.append and args.out.exists():
            with open(args.out, "a", encoding="utf-8") as f:
                f.write("\n" + text)
        else:
            header = (
                "# Regression: this checkout against a baseline install (commits in each run's lines)\n\n"
                "Written by `bench/bench_regression.py` (docstring: what is measured and how). "
                "Medians, never best-of; a re-run is appended as its own section.\n\n"
            )
            args.out.write_text(header + text, encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
