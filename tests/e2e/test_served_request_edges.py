"""The API as the dev stack serves it (`uvicorn api.app:app` with `worker.devstack.uvicorn_limits()`), over
real sockets: an over-long request line or header block is refused cleanly whether it arrives whole or in
pieces, the access log never carries it whole, and a 300 MB anonymous body is refused with the connection
closed long before the client has sent it. No Temporal: each refusal comes before a route needs it."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.api_rig import database
from worker.devstack import uvicorn_limits

REPO_ROOT = Path(__file__).resolve().parents[2]
QUERY = "q=" + "x" * 79_000  # the hostile client's ~79 KB query string
MB = 1000 * 1000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Served:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=20)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp("served")
    url, engine = database(directory)
    engine.dispose()
    port, log = free_port(), directory / "api.log"
    environment = {
        **os.environ,
        "MAPPA_DATABASE_URL": url,
        "MAPPA_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",  # nobody there: the API starts without it
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "-m", "uvicorn", "api.app:app", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, *uvicorn_limits()],
            cwd=REPO_ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    served = Served(port, process, log)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            try:
                served.connect().close()
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.2)
        yield served
    finally:
        process.terminate()
        process.wait(30)


def exchange(served: Served, request: bytes, *, piece: int | None = None) -> bytes:
    """Send `request` (whole, or `piece` bytes at a time with a pause) and read the answer until closed."""
    with served.connect() as connection:
        try:
            if piece is None:
                connection.sendall(request)
            else:
                for start in range(0, len(request), piece):
                    connection.sendall(request[start : start + piece])
                    time.sleep(0.002)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused mid-way: the answer is already waiting
        answer = b""
        try:
            while chunk := connection.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
        return answer


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def still_answers(served: Served) -> None:
    answer = exchange(served, b"GET /deadlines/calculate HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert status_of(answer) == 401


def test_a_79_kb_query_string_arriving_whole_is_refused_414_and_the_log_line_is_cut(served: Served) -> None:
    answer = exchange(served, f"GET /deadlines/calculate?{QUERY} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    assert status_of(answer) == 414
    still_answers(served)
    time.sleep(0.5)  # the access log is written after the answer
    longest = max(len(line) for line in served.log.read_bytes().splitlines())
    assert longest < 2000


def test_a_79_kb_query_string_arriving_in_pieces_is_refused_by_the_parser(served: Served) -> None:
    answer = exchange(
        served, f"GET /deadlines/calculate?{QUERY} HTTP/1.1\r\nHost: t\r\n\r\n".encode(), piece=1024
    )
    # h11 gives up once 16 KiB are buffered without a complete request line: uvicorn answers 400 and closes.
    assert status_of(answer) in (400, 431)
    still_answers(served)


@pytest.mark.parametrize("piece", [None, 1024])
def test_40_kb_of_headers_are_refused_whole_or_in_pieces(served: Served, piece: int | None) -> None:
    headers = "".join(f"X-Filler-{n}: {'y' * 400}\r\n" for n in range(100))
    answer = exchange(served, f"GET /health HTTP/1.1\r\nHost: t\r\n{headers}\r\n".encode(), piece=piece)
    assert status_of(answer) in (400, 431)
    still_answers(served)


def test_a_300_mb_anonymous_case_opening_is_answered_401_and_the_connection_dropped_early(
    served: Served,
) -> None:
    with served.connect() as connection:
        connection.sendall(
            b"POST /cases HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {300 * MB}\r\n\r\n".encode()
        )
        sent = 0
        piece = b"[" * MB
        answer = b""
        connection.settimeout(5)
        try:
            while sent < 300 * MB:
                connection.sendall(piece)
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass
        with contextlib.suppress(ConnectionResetError, TimeoutError):
            answer = connection.recv(65536)
    # The server stopped taking the body: what got out is what the sockets' buffers held, not 300 MB.
    assert sent < 64 * MB
    if answer:  # unless the reset overtook it
        assert status_of(answer) == 401
    still_answers(served)
