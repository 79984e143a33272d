"""brainbrr's SzCORE files scored by the real ``szcore-evaluation`` (and ``timescoring`` under it).

``szcore-evaluation`` 0.0.7 declares Python >= 3.12, and its numpy pin builds
only there; it runs on 3.11 beside ``epilepsy2bids``, ``timescoring`` and pandas,
which the test extra installs. So it is installed once, without its declared
dependencies, into a cache folder outside the repository, and run from there.
"""

from __future__ import annotations

import json
import shutil
import math
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from brainbrr import events
from brainbrr.dataset import ZarrWindowDataset
from brainbrr.events import Event

SZCORE = "szcore-evaluation==0.0.7"


@pytest.fixture(scope="session")
def szcore() -> Path:
    """The folder ``szcore_evaluation`` is importable from, installed on first use."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "brainbrr-tests" / "szcore-evaluation-0.0.7"
    if not (cache / "szcore_evaluation" / "__main__.py").is_file():
        staging = cache.with_name(f"{cache.name}.{os.getpid()}")
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--ignore-requires-python"]
        subprocess.run([*pip, "--target", str(staging), SZCORE], check=True)
        # Another process may have installed it meanwhile: either copy will do.
        try:
            staging.rename(cache)
        except OSError:
            assert (cache / "szcore_evaluation").is_dir()
    return cache


def score(szcore: Path, ref: Path, hyp: Path, out: Path) -> dict[str, dict[str, float]]:
    """``python -m szcore_evaluation REF HYP OUT``, as its README runs it; its JSON."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(szcore), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-m", "szcore_evaluation", str(ref), str(hyp), str(out)], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "Error in" not in proc.stdout, proc.stdout  # a file it could not read, scored as empty
    result: dict[str, dict[str, float]] = json.loads(out.read_text())
    return result


def expected_event_scores(ds: ZarrWindowDataset, ref: dict[str, list[Event]], hyp: dict[str, list[Event]]) -> dict[str, float]:
    """What SzCORE's rules give, computed here from the events themselves (not from any file):
    timescoring's event scoring per recording at 1 Hz, counts summed per patient, the metrics
    averaged over patients, NaN skipped."""
    from timescoring import scoring
    from timescoring.annotations import Annotation

    counts: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])  # tp, fp, refTrue
    for r, rid in enumerate(ds.rids):
        if rid not in ref:  # unlabeled: no reference to score against
            continue
        n = math.floor(int(ds.n_samples[r]) / ds.fs)
        mask = {
            k: Annotation([(e.start_s, e.stop_s) for e in evs[rid]], 1, n) for k, evs in (("ref", ref), ("hyp", hyp))
        }
        s = scoring.EventScoring(mask["ref"], mask["hyp"])
        c = counts[ds.recording_patients[r] or "unknown"]
        c[0], c[1], c[2] = c[0] + s.tp, c[1] + s.fp, c[2] + s.refTrue
    per = defaultdict(list)
    for tp, fp, ref_true in counts.values():
        per["sensitivity"].append(tp / ref_true if ref_true else np.nan)
        per["precision"].append(tp / (tp + fp) if tp + fp else np.nan)
        per["f1"].append(2 * tp / (2 * tp + fp + ref_true - tp) if ref_true + fp else np.nan)
    return {k: float(np.nanmean(v)) for k, v in per.items()}


def test_szcore_scores_the_reference_and_a_hypothesis_written_by_brainbrr(
    szcore: Path, tusz_store: Path, tmp_path: Path
) -> None:
    """Regression: the files were written at each recording's source path, which the scorer
    does not walk (it pairs ``sub-*`` trees): every metric came back NaN, with exit status 0."""
    ds = ZarrWindowDataset(tusz_store, drop_unlabeled=False)
    ref = events.from_labels(ds)
    events.write_events_tsv(ref, ds, tmp_path / "ref")
    assert sorted(p.name for p in (tmp_path / "ref").iterdir()) and all(
        p.name.startswith("sub-") for p in (tmp_path / "ref").iterdir()
    )

    perfect = score(szcore, tmp_path / "ref", tmp_path / "ref", tmp_path / "perfect.json")
    for level in ("sample_results", "event_results"):
        assert perfect[level]["f1"] == pytest.approx(1.0), perfect
        assert perfect[level]["sensitivity"] == pytest.approx(1.0), perfect
        assert perfect[level]["precision"] == pytest.approx(1.0), perfect

    # A hypothesis that misses the seizures of every other recording that has some, and
    # puts one false alarm, 20 s long, in a recording without any.
    with_events = [rid for rid, evs in ref.items() if evs]
    missed = set(with_events[::2])
    hyp = {rid: [] if rid in missed else list(evs) for rid, evs in ref.items()}
    quiet = next(rid for rid, evs in ref.items() if not evs)
    hyp[quiet] = [Event(quiet, 5.0, 25.0, 0.9)]
    events.write_events_tsv(hyp, ds, tmp_path / "hyp")
    got = score(szcore, tmp_path / "ref", tmp_path / "hyp", tmp_path / "hyp.json")["event_results"]
    want = expected_event_scores(ds, ref, hyp)
    assert 0.0 < want["f1"] < 1.0 and 0.0 < want["sensitivity"] < 1.0, want
    for metric in ("sensitivity", "precision", "f1"):
        assert got[metric] == pytest.approx(want[metric], abs=1e-9), (metric, got, want)


def test_brainbrr_score_totals_are_szcore_evaluations(szcore: Path, tusz_store: Path, tmp_path: Path) -> None:
    """``brainbrr score`` sums every recording's counts; ``szcore-evaluation`` does the same with
    ``avg_per_subject=False``: on one pair of trees the metrics agree."""
    from brainbrr.scoring import score as brainbrr_score

    ds = ZarrWindowDataset(tusz_store, drop_unlabeled=False)
    ref = events.from_labels(ds)
    with_events = [rid for rid, evs in ref.items() if evs]
    hyp = {rid: [] if rid in with_events[1::3] else list(evs) for rid, evs in ref.items()}
    quiet = [rid for rid, evs in ref.items() if not evs]
    hyp[quiet[0]] = [Event(quiet[0], 5.0, 25.0, 0.9), Event(quiet[0], 200.0, 230.0, 0.8)]
    events.write_events_tsv(ref, ds, tmp_path / "ref")
    events.write_events_tsv(hyp, ds, tmp_path / "hyp")
    code = (
        "import json, sys; from szcore_evaluation.evaluate import evaluate_dataset as e; "
        "print(json.dumps(e(sys.argv[1], sys.argv[2], sys.argv[3], avg_per_subject=False)))"
    )
    env = {**os.environ, "PYTHONPATH": str(szcore)}
    args = [str(tmp_path / "ref"), str(tmp_path / "hyp"), str(tmp_path / "szcore.json")]
    proc = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=True)
    theirs = json.loads(proc.stdout.splitlines()[-1])
    ours = brainbrr_score(tmp_path / "ref", tmp_path / "hyp")
    for level, s in (("sample_results", ours.sample), ("event_results", ours.event)):
        got = {"sensitivity": s.sensitivity, "precision": s.precision, "f1": s.f1, "fpRate": s.fp_per_day}
        assert got == pytest.approx(theirs[level], rel=1e-12), (level, got, theirs[level])
    assert 0 < ours.event.f1 < 1 and ours.event.fp >= 1
    assert len(ours.recordings) == len(ref)

    from tests.conftest import run_cli

    cli = run_cli("brainbrr", "score", tmp_path / "ref", tmp_path / "hyp", "--json")
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["event"]["f1"] == pytest.approx(ours.event.f1)
    text = run_cli("brainbrr", "score", tmp_path / "ref", tmp_path / "hyp", "--per-recording")
    assert text.returncode == 0, text.stderr
    per = text.stdout.split("event-based, per recording:\n")[1].splitlines()
    assert [line.split(":")[0].strip() for line in per] == [r.path for r in ours.recordings]

    bad = tmp_path / "bad"
    shutil.copytree(tmp_path / "ref", bad)
    victim = next(bad.rglob("*_events.tsv"))
    victim.write_text(victim.read_text().replace("onset", "start", 1))
    err = run_cli("brainbrr", "score", bad, tmp_path / "hyp")
    assert err.returncode == 2 and f"{victim}:1: no 'onset' column" in err.stderr, err.stderr
