"""The worker mock's `GET /workers/{id}/snapshot` scenarios (the `snapshot` parameter of a worker scenario).

    {"scenario": "healthy", "snapshot": {"mode": "slow_body", "size": 1048576, "duration": "0.8x"}}

Modes: `healthy` (the body at once), `slow_body` (headers at once, the body spread over `duration`),
`hang` (never answers), `not_found` (404), `bad_request` (400), `reset` (headers and half the body, then
RST). With `size`, the body is `snapshot_chunks(id, size)`: deterministic bytes of exactly `size` (a JSON
document), generated as they are sent, so a 200 MB snapshot costs the mock no memory and the harness can
compare what a proxy delivered byte for byte. Without `size` it is the worker's record (`bodies.py`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import struct
import time
from collections.abc import Iterator
from typing import Any

from aiohttp import web

from tes_contract.errors import ScenarioError
from tes_contract.mocks.bodies import WORKER_ID, Answer, error_answer, snapshot_answer
from tes_contract.mocks.scenarios import SnapshotPlan

CHUNK = 64 * 1024
_PATTERN = (b"0123456789abcdefghijklmnopqrstuvwxyz" * 1900)[:CHUNK]  # one chunk of padding, reused


def snapshot_chunks(worker_id: str, size: int) -> Iterator[bytes]:
    """Exactly `size` bytes of a JSON document `{"id": ID, "padding": "..."}`, in chunks of at most 64 KiB."""
    head = json.dumps({"id": worker_id, "padding": ""}, separators=(",", ":")).encode()[:-2]  # ..."padding":"
    tail = b'"}'
    if size < len(head) + len(tail):
        raise ScenarioError(f"snapshot size {size} is too small for worker id {worker_id!r}")
    left = size - len(head) - len(tail)
    yield head
    while left > 0:
        piece = _PATTERN[: min(left, CHUNK)]
        left -= len(piece)
        yield piece
    yield tail


def snapshot_digest(worker_id: str, size: int) -> str:
    """The sha256 of `snapshot_chunks(worker_id, size)`, what a proxy must deliver."""
    digest = hashlib.sha256()
    for chunk in snapshot_chunks(worker_id, size):
        digest.update(chunk)
    return digest.hexdigest()


def refusal(plan: SnapshotPlan, worker_id: str, records: list[dict[str, Any]]) -> Answer | None:
    """The error answer of a snapshot request, or None when the body is to be served."""
    if plan.mode == "bad_request" or not WORKER_ID.match(worker_id):
        return error_answer(400, f"malformed worker id {worker_id!r}", "ids match ^[A-Za-z0-9_-]{1,64}$")
    if plan.mode == "not_found" or (plan.size is None and not any(w["id"] == worker_id for w in records)):
        return error_answer(404, f"unknown worker {worker_id!r}", "GET /workers/status lists the workers")
    return None


def body_chunks(plan: SnapshotPlan, worker_id: str, records: list[dict[str, Any]]) -> tuple[int, Iterator[bytes]]:
    """The body's length and its bytes: the sized document, or the worker's record (`bodies.snapshot_answer`)."""
    if plan.size is not None:
        return plan.size, snapshot_chunks(worker_id, plan.size)
    body = snapshot_answer(worker_id, records).body
    return len(body), iter((body,))


def _pieces(chunks: Iterator[bytes], step: int) -> Iterator[bytes]:
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        while len(buffer) >= step:
            yield buffer[:step]
            buffer = buffer[step:]
    if buffer:
        yield buffer


async def serve_body(plan: SnapshotPlan, request: web.BaseRequest, entry: dict[str, Any], worker_id: str,
                     records: list[dict[str, Any]], client_timeout_ms: float) -> web.StreamResponse:
    """Stream the snapshot by the plan's mode: at once, spread over `duration`, or cut by a reset mid-body."""
    size, chunks = body_chunks(plan, worker_id, records)
    response = web.StreamResponse(status=200, headers={
        "Content-Type": "application/json", "Content-Length": str(size),
        "Content-Disposition": f'attachment; filename="{worker_id}-snapshot.json"'})
    await response.prepare(request)
    slow = plan.mode == "slow_body" and plan.chunks > 1
    step = -(-size // plan.chunks) if slow else CHUNK
    pause = plan.duration.seconds(client_timeout_ms) / (plan.chunks - 1) if slow else 0.0
    sent = 0
    for i, piece in enumerate(_pieces(chunks, step)):
        if plan.mode == "reset" and sent + len(piece) > size // 2:
            await response.write(piece[: size // 2 - sent])
            await asyncio.sleep(0.05)  # let the half body leave: an abort drops what is still buffered
            _reset(request)
            entry["completed_at"], entry["status"] = time.time(), 200
            return response
        if pause and i:
            await asyncio.sleep(pause)
        await response.write(piece)
        sent += len(piece)
    await response.write_eof()
    entry["completed_at"], entry["status"] = time.time(), 200
    return response


def _reset(request: web.BaseRequest) -> None:
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
