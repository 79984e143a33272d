"""Object storage against local files, side by side in one run.

1. The ingest of one corpus from a bucket of a local S3-compatible server
   (moto's, on 127.0.0.1) against the same ingest from the files on disk
   (``brainbrr-ingest SRC --out STORE -j 2``, a new store each run, runs alternated).
2. Epochs of ``ds.batches(64, shuffle=True)`` over the store read from the
   bucket with ``cache_dir`` (epoch 0 downloads each recording once; later
   epochs read the local copy) against the same store on disk.
3. From the bucket into a store in the bucket: on a 2-worker Dask
   ``LocalCluster`` (``--scheduler``) against one process with ``-j 2``.

    python bench/bench_s3.py --out bench/RESULTS-s3.md

Needs ``moto[server]`` and ``boto3`` (the test extra). The corpus is
``brainbrr.synthetic.make_corpus``; the machine is shared and noisy: medians.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
            return proc, endpoint
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"moto_server did not start on {endpoint}")


def upload(client: object, root: Path, bucket: str, prefix: str) -> int:
    n = 0
    for path in sorted(p for p in root.rglob("*") if p.is_file() and ".brainbrr-tmp" not in p.parts):
        client.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(root).as_posix()}")  # type: ignore[attr-defined]
        n += path.stat().st_size
    return n


def ingest_seconds(source: str, out: Path | str, *options: str) -> float:
    """One ingest into a new store (a folder emptied first, or a new URL)."""
    if isinstance(out, Path):
        shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [str(BIN / "brainbrr-ingest"), source, "--out", str(out), "--json", *(options or ("-j", "2"))],
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - t0
    summary = json.loads(proc.stdout)
    if proc.returncode != 0 or summary["failed"]:
        raise SystemExit(f"ingest of {source} failed: {proc.stderr}{summary['failed']}")
    return seconds


def epoch_seconds(ds: object, seed: int) -> float:
    t0 = time.perf_counter()
    n = 0
    for x, _ in ds.batches(64, shuffle=True, seed=seed):  # type: ignore[attr-defined]
        n += x.shape[0]
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--patients", type=int, default=6)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--out", type=Path, help="write the results as Markdown here")
    args = p.parse_args()

    import boto3

    from brainbrr import ZarrWindowDataset
    from brainbrr.synthetic import make_corpus

    work = Path(tempfile.mkdtemp(prefix="brainbrr-bench-s3-"))
    server, endpoint = start_server(work / "moto.log")
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_REGION="us-east-1",
        AWS_ENDPOINT_URL=endpoint,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_CONFIG_FILE=os.devnull,
    )
    try:
        corpus = work / "corpus"
        make_corpus(corpus, n_patients=args.patients, duration_s=(600, 1200), seed=0)
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        client.create_bucket(Bucket="bench")
        edf_bytes = upload(client, corpus, "bench", "tusz")

        local_s, remote_s = [], []
        for _ in range(args.runs):
            local_s.append(ingest_seconds(str(corpus), work / "local.zarr"))
            remote_s.append(ingest_seconds("s3://bench/tusz", work / "remote.zarr"))
        ingest_ratio = statistics.median(local_s) / statistics.median(remote_s)

        upload(client, work / "local.zarr", "bench", "cache.zarr")
        local = ZarrWindowDataset(work / "local.zarr")
        windows, window_bytes = len(local), local[0][0].numel() * 4
        first_remote, later_remote, later_local = [], [], []
        for run in range(args.runs):
            cache = work / f"cache{run}"
            remote = ZarrWindowDataset("s3://bench/cache.zarr", cache_dir=cache)
            first_remote.append(epoch_seconds(remote, 0))
            for epoch in (1, 2):
                later_remote.append(epoch_seconds(remote, epoch))
                later_local.append(epoch_seconds(local, epoch))
            shutil.rmtree(cache)
        epoch_ratio = statistics.median(later_local) / statistics.median(later_remote)

        import distributed

        # Started after the AWS_* settings: its worker processes inherit them.
        with distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster:
            one_s, dask_s = [], []
            for run in range(args.runs):
                one_s.append(ingest_seconds("s3://bench/tusz", f"s3://bench/one-{run}.zarr"))
                dask_s.append(
                    ingest_seconds(
                        "s3://bench/tusz", f"s3://bench/dask-{run}.zarr", "--scheduler", cluster.scheduler_address
                    )
                )
        dask_ratio = statistics.median(one_s) / statistics.median(dask_s)
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(work, ignore_errors=True)

    med = statistics.median
    mb = edf_bytes / 1e6
    text = f"""# Object storage against local files (`bench/bench_s3.py`)

`python bench/bench_s3.py --runs {args.runs}{' --out ' + str(args.out) if args.out else ''}`; machine: {os.cpu_count()} cores.
Corpus: `make_corpus(n_patients={args.patients}, duration_s=(600, 1200))`, {mb:.0f} MB of EDF;
the S3 server is moto's (`moto_server` on 127.0.0.1, one Python process). Medians of {args.runs} runs,
runs alternated.

## Ingest (`brainbrr-ingest SRC --out STORE -j 2`, new store each run)

| source | median s | MB/s of EDF | runs (s) |
|---|---|---|---|
| local files | {med(local_s):.2f} | {mb / med(local_s):.0f} | {', '.join(f'{s:.2f}' for s in local_s)} |
| `s3://bench/tusz` | {med(remote_s):.2f} | {mb / med(remote_s):.0f} | {', '.join(f'{s:.2f}' for s in remote_s)} |

From the bucket at **{ingest_ratio:.2f}x** the speed of local files (target 0.7x).

## Epochs (`ds.batches(64, shuffle=True)`, {windows} windows of {window_bytes / 1e6:.1f} MB)

| store | epoch | median s | windows/s |
|---|---|---|---|
| `s3://bench/cache.zarr`, new `cache_dir` | 0 (downloads) | {med(first_remote):.3f} | {windows / med(first_remote):.0f} |
| `s3://bench/cache.zarr`, `cache_dir` | 1, 2 | {med(later_remote):.3f} | {windows / med(later_remote):.0f} |
| local store | 1, 2 | {med(later_local):.3f} | {windows / med(later_local):.0f} |

Later epochs over the remote store at **{epoch_ratio:.2f}x** the local store (target: within 10%).

## From the bucket into a store in the bucket (new store each run)

| run | median s | MB/s of EDF | runs (s) |
|---|---|---|---|
| one process, `-j 2` | {med(one_s):.2f} | {mb / med(one_s):.0f} | {', '.join(f'{s:.2f}' for s in one_s)} |
| Dask `LocalCluster`, 2 workers | {med(dask_s):.2f} | {mb / med(dask_s):.0f} | {', '.join(f'{s:.2f}' for s in dask_s)} |

Dask at **{dask_ratio:.2f}x** the speed of one process: each worker downloads its
recordings and publishes them itself; the driver lists the bucket and writes the index.
"""
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
