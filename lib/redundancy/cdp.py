"""A minimal Chrome DevTools Protocol client over a WebSocket, standard library only.

The browser test needs a handful of CDP commands (navigate, evaluate, screenshot) and the events
that report JavaScript errors and failed requests. A driver package (playwright, selenium,
websocket-client) is not among the project's dependencies, and this is all it takes: the RFC 6455
handshake, masked client frames, and a loop that files events while it waits for a reply.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import time
from typing import Any
from urllib.parse import urlparse


class CDPError(RuntimeError):
    """A protocol error, a closed connection or a timeout."""


class WebSocket:
    """A blocking WebSocket client: text messages in and out, nothing else."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        parsed = urlparse(url)
        if parsed.scheme != "ws":
            raise CDPError(f"only ws:// URLs are supported, got {url!r}")
        self.sock = socket.create_connection((parsed.hostname, parsed.port or 80), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (f"GET {parsed.path or '/'} HTTP/1.1\r\nHost: {parsed.hostname}:{parsed.port}\r\n"
                   f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n")
        self.sock.sendall(request.encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise CDPError(f"WebSocket handshake refused: {head[:80]!r}")

    def _fill(self) -> None:
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise CDPError("connection closed by the browser")
        self.buffer += chunk

    def ready(self, timeout: float) -> bool:
        """Whether a message can be read within ``timeout`` seconds (buffered bytes count)."""
        import select

        if self.buffer:
            return True
        return bool(select.select([self.sock], [], [], max(timeout, 0))[0])

    def send(self, text: str) -> None:
        payload = text.encode()
        header = bytearray([0x81])  # FIN + text frame
        n = len(payload)
        if n < 126:
            header.append(0x80 | n)
        elif n < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(bytes(header) + mask + masked)

    def _read_exact(self, n: int) -> bytes:
        while len(self.buffer) < n:
            self._fill()
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def recv(self) -> str:
        """The next whole text message (fragments joined; pings answered)."""
        parts: list[bytes] = []
        while True:
            first, second = self._read_exact(2)
            opcode, length = first & 0x0F, second & 0x7F
            if length == 126:
                length = struct.unpack(">H", self._read_exact(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self._read_exact(8))[0]
            mask = self._read_exact(4) if second & 0x80 else None
            data = self._read_exact(length)
            if mask:
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
            if opcode == 0x8:
                raise CDPError("the browser closed the DevTools connection")
            if opcode == 0x9:  # ping -> pong
                self.sock.sendall(bytes([0x8A, 0x80 | len(data)]) + b"\0\0\0\0" + data)
                continue
            if opcode in (0x0, 0x1, 0x2):
                parts.append(data)
                if first & 0x80:
                    return b"".join(parts).decode()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class CDPSession:
    """Commands and events of one browser connection (flattened target sessions)."""

    def __init__(self, ws_url: str, timeout: float = 30.0) -> None:
        self.ws = WebSocket(ws_url, timeout=timeout)
        self.timeout = timeout
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        """Send one command and wait for its reply; events that arrive meanwhile are kept."""
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise CDPError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)
        raise CDPError(f"{method}: no reply within {self.timeout} s")

    def wait_for(self, method: str, session: str | None, timeout: float) -> dict[str, Any] | None:
        """The first event ``method`` of ``session`` (kept ones first), or None after ``timeout``."""
        for event in self.events:
            if event["method"] == method and event.get("sessionId") == session:
                self.events.remove(event)
                return event
        deadline = time.monotonic() + timeout
        while self.ws.ready(deadline - time.monotonic()):
            message = json.loads(self.ws.recv())
            if message.get("method") == method and message.get("sessionId") == session:
                return message
            if "method" in message:
                self.events.append(message)
        return None

    def drain(self, seconds: float) -> None:
        """Collect events for ``seconds`` (late console errors, late image loads)."""
        self.wait_for("__none__", None, seconds)

    def take_events(self, session: str) -> list[dict[str, Any]]:
        mine = [e for e in self.events if e.get("sessionId") == session]
        self.events = [e for e in self.events if e.get("sessionId") != session]
        return mine

    def close(self) -> None:
        self.ws.close()
