"""A real S3-compatible server (moto's) on 127.0.0.1 for the object-storage tests.

The tests talk to it through what brainbrr ships (the ``object_store`` client in
the Rust core); boto3 is only used here to make buckets and upload corpora.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("moto", reason="moto[server] is in the test extra: pip install -e '.[test]'")

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}


@dataclass(frozen=True)
class S3:
    """The server's endpoint, the environment that points clients at it, and a fresh bucket."""

    endpoint: str
    env: dict[str, str]
    bucket: str

    def client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1", **_boto_keys())

    def upload_tree(self, root: Path, prefix: str) -> int:
        """Upload every file under ``root`` to ``s3://bucket/prefix/...``; returns the count."""
        client, n = self.client(), 0
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            client.upload_file(str(path), self.bucket, f"{prefix}/{path.relative_to(root).as_posix()}")
            n += 1
        return n

    def url(self, prefix: str) -> str:
        return f"s3://{self.bucket}/{prefix}"

    def requests(self, action: Callable[[], object]) -> list[tuple[str, str]]:
        """The requests (method, URL) the server received while ``action`` ran (moto's recorder)."""
        api = f"{self.endpoint}/moto-api/recorder"
        for step in ("reset-recording", "start-recording"):
            urllib.request.urlopen(urllib.request.Request(f"{api}/{step}", method="POST")).close()
        try:
            action()
        finally:
            urllib.request.urlopen(urllib.request.Request(f"{api}/stop-recording", method="POST")).close()
        with urllib.request.urlopen(f"{api}/download-recording") as r:
            lines = r.read().decode().splitlines()
        return [(e["method"], e["url"]) for e in map(json.loads, lines)]

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return [o["Key"] for page in pages for o in page.get("Contents", [])]


def _boto_keys() -> dict[str, str]:
    return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``moto_server`` started on a free port of 127.0.0.1 for the session."""
    port = _free_port()
    log = (tmp_path_factory.mktemp("moto") / "server.log").open("w")
    recording = tmp_path_factory.mktemp("moto") / "requests.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        # Requests are recorded only between start- and stop-recording (S3.requests).
        env={**os.environ, "MOTO_RECORDER_FILEPATH": str(recording)},
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"moto_server did not start on {endpoint}") from None
            time.sleep(0.1)
    yield endpoint
    proc.terminate()
    proc.wait(10)
    log.close()


@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> S3:
    """A fresh bucket on the session's server, and this process's environment pointed at it."""
    env = {**CREDENTIALS, "AWS_ENDPOINT_URL": s3_endpoint}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    # The shared AWS files of the machine must not leak into the tests.
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    bucket = "t-" + "".join(c if c.isalnum() else "-" for c in request.node.name.lower())[:50].strip("-")
    server = S3(endpoint=s3_endpoint, env={**os.environ}, bucket=bucket)
    server.client().create_bucket(Bucket=bucket)
    return server
