"""Drive: upload and download a 100 MB file through the multipart path, lark-service versus
raw pooled httpx doing the same requests, and the client's peak RSS.

The emulator runs in its own process (it keeps the file in memory), so the peak RSS measured
is the client's alone. Each scenario runs in a fresh child process of this script:

- ``lark-service``: ``client.drive.upload_file(path)`` (``drive/v1/files`` upload_prepare,
  25 ``upload_part`` of 4 MB with their adler32, ``upload_finish``) then
  ``client.drive.download_file(token, path)`` (streamed to a temp file, renamed);
- ``raw httpx``: one pooled ``httpx.Client`` sending the same requests (the file read block
  by block, the same adler32 per part) and streaming the download to disk.

Peak RSS must not grow with the file size: the same scenario is run with a file a quarter of
the size, and the growth of peak RSS between the two is reported (target: under one 4 MB block
plus 16 MB of slack). Throughput target: lark-service at least 0.8x raw httpx.

``--quick`` uses 40 MB (and 10 MB); ``--write-docs`` rewrites ``## Drive transfer`` in
docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

from _harness import machine_line, quick, update_doc_section, verdict

APP_ID, APP_SECRET = "cli_bench_drive", "bench-drive-secret"
MB = 1024 * 1024
BLOCK = 4 * MB
THROUGHPUT_TARGET = 0.8
RSS_SLACK_MB = 16 + BLOCK / MB

_SERVER = """
import sys
from lark_service.testing import Emulator
emu = Emulator().start()
emu.add_app(%r, %r)
print(emu.url, flush=True)
sys.stdin.read()
emu.stop()
"""


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def _rss_mb() -> float:
    """The current resident set (Linux ``/proc/self/statm``; the peak elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return _peak_rss_mb()
    return pages * os.sysconf("SC_PAGE_SIZE") / MB


def _make_file(directory: Path, size: int) -> Path:
    path = directory / f"payload-{size // MB}mb.bin"
    chunk = os.urandom(MB)
    with open(path, "wb") as fh:
        written = 0
        while written < size:
            part = chunk[: min(MB, size - written)]
            fh.write(part)
            written += len(part)
    return path


# -- the scenarios (each in a child process) ---------------------------------------------------


def _lark(url: str, path: Path, out: Path) -> dict[str, Any]:
    from lark_service import LarkClient

    logging.getLogger("lark_service").setLevel(logging.ERROR)
    with LarkClient(app_id=APP_ID, app_secret=APP_SECRET, base_url=url) as client:
        client.drive.root_folder_token()  # warm-up: token, connection
        base = _peak_rss_mb()
        started = time.perf_counter()
        uploaded = client.drive.upload_file(path)
        up = time.perf_counter() - started
        after_upload = _rss_mb()
        started = time.perf_counter()
        client.drive.download_file(uploaded.token, out, overwrite=True)
        down = time.perf_counter() - started
    return {"upload_s": up, "download_s": down, "base_rss_mb": base, "upload_rss_mb": after_upload}


def _raw(url: str, path: Path, out: Path) -> dict[str, Any]:
    import httpx

    with httpx.Client(base_url=url, timeout=120) as http:
        token = http.post(
            "/open-apis/auth/v3/tenant_access_token/internal",
            json={"app_id": APP_ID, "app_secret": APP_SECRET},
        ).json()["tenant_access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        root = http.get("/open-apis/drive/explorer/v2/root_folder/meta", headers=headers)
        folder = root.json()["data"]["token"]
        base = _peak_rss_mb()
        size = path.stat().st_size
        started = time.perf_counter()
        prepared = http.post(
            "/open-apis/drive/v1/files/upload_prepare",
            headers=headers,
            json={
                "file_name": path.name,
                "parent_type": "explorer",
                "parent_node": folder,
                "size": size,
            },
        ).json()["data"]
        with open(path, "rb") as fh:
            for seq in range(prepared["block_num"]):
                block = fh.read(prepared["block_size"])
                answer = http.post(
                    "/open-apis/drive/v1/files/upload_part",
                    headers=headers,
                    data={
                        "upload_id": prepared["upload_id"],
                        "seq": str(seq),
                        "size": str(len(block)),
                        "checksum": str(zlib.adler32(block) & 0xFFFFFFFF),
                    },
                    files={"file": (path.name, block, "application/octet-stream")},
                )
                answer.raise_for_status()
        finished = http.post(
            "/open-apis/drive/v1/files/upload_finish",
            headers=headers,
            json={"upload_id": prepared["upload_id"], "block_num": prepared["block_num"]},
        ).json()["data"]
        up = time.perf_counter() - started
        after_upload = _rss_mb()
        started = time.perf_counter()
        with (
            http.stream(
                "GET",
                f"/open-apis/drive/v1/files/{finished['file_token']}/download",
                headers=headers,
            ) as response,
            open(out, "wb") as fh,
        ):
            for chunk in response.iter_bytes(256 * 1024):
                fh.write(chunk)
        down = time.perf_counter() - started
    return {"upload_s": up, "download_s": down, "base_rss_mb": base, "upload_rss_mb": after_upload}


def _child(args: argparse.Namespace) -> int:
    path = Path(args.path)
    out = path.with_suffix(".back")
    result = (_lark if args.child == "lark" else _raw)(args.url, path, out)
    same = out.stat().st_size == path.stat().st_size
    out.unlink()
    result.update(peak_rss_mb=_peak_rss_mb(), intact=same)
    print(json.dumps(result))
    return 0


def _run_child(kind: str, url: str, path: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--url", url, "--path", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--child", choices=["lark", "raw"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args)
    size = (40 if quick(argv if argv is not None else sys.argv[1:]) or args.quick else 100) * MB
    small = size // 4
    server = subprocess.Popen(
        [sys.executable, "-c", _SERVER % (APP_ID, APP_SECRET)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        with tempfile.TemporaryDirectory() as tmp:
            big_file = _make_file(Path(tmp), size)
            small_file = _make_file(Path(tmp), small)
            rows = {
                (kind, label): _run_child(kind, url, file)
                for label, file in (("big", big_file), ("small", small_file))
                for kind in ("raw", "lark")
            }
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=30)

    def mbps(row: dict[str, Any], key: str, nbytes: int) -> float:
        return nbytes / MB / row[key] if row[key] else 0.0

    lines = [
        "| client | file | upload MB/s | download MB/s | peak RSS (MB) | intact |",
        "|---|---|---|---|---|---|",
    ]
    for (kind, label), row in rows.items():
        nbytes = size if label == "big" else small
        lines.append(
            f"| {'lark-service' if kind == 'lark' else 'raw httpx'} | {nbytes // MB} MB | "
            f"{mbps(row, 'upload_s', nbytes):.0f} | {mbps(row, 'download_s', nbytes):.0f} | "
            f"{row['peak_rss_mb']:.0f} | {'yes' if row['intact'] else 'NO'} |"
        )
    lark, raw = rows[("lark", "big")], rows[("raw", "big")]
    up_ratio = raw["upload_s"] / lark["upload_s"] if lark["upload_s"] else 0.0
    down_ratio = raw["download_s"] / lark["download_s"] if lark["download_s"] else 0.0
    growth = lark["peak_rss_mb"] - rows[("lark", "small")]["peak_rss_mb"]
    ok = (
        up_ratio >= THROUGHPUT_TARGET
        and down_ratio >= THROUGHPUT_TARGET
        and growth <= RSS_SLACK_MB
        and all(row["intact"] for row in rows.values())
    )
    text = (
        "\n".join(lines)
        + f"\n\nThroughput vs raw pooled httpx ({size // MB} MB, the same multipart requests): "
        f"upload {up_ratio:.2f}x, download {down_ratio:.2f}x (target >= {THROUGHPUT_TARGET}x). "
        f"lark-service peak RSS grows {growth:+.1f} MB from a {small // MB} MB to a "
        f"{size // MB} MB file (target <= {RSS_SLACK_MB:.0f} MB: memory stays at one block): "
        f"{verdict(ok)}\n\n{machine_line()}"
    )
    print(text)
    if os.environ.get("LARK_BENCH_DEBUG"):
        print(json.dumps({f"{k[0]}/{k[1]}": v for k, v in rows.items()}, indent=1))
    if args.write_docs:
        update_doc_section("## Drive transfer", text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
