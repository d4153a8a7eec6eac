"""Hostile clients held open against a server: stalled and trickling uploads, silent connections, slowloris.

An ``Attack`` opens its connections and keeps them going from one background
thread until it is stopped. When the server closes one (a deadline it
enforces), the attacker opens another at once, as a real one would, so the
pressure stays constant; ``reopened`` counts how often that happened.
Loopback (127.0.0.1) only.

    with Attack(port, "stalled-upload", 8):
        ... measure good requests ...
"""

from __future__ import annotations

import selectors
import socket
import threading
import time

UPLOAD_HEAD = (b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
               b"Content-Length: 1000\r\n\r\n")
SLOW_HEAD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slowloris\r\n" + b"X-Padding: a\r\n" * 1000

KINDS = {
    # kind: (bytes sent at once on connecting, bytes then sent one a second)
    "stalled-upload": (UPLOAD_HEAD, b""),  # headers, then no body
    "trickle-upload": (UPLOAD_HEAD, b"\x00" * 1000),  # headers, then the body at 1 byte/s
    "silent": (b"", b""),  # connects and sends nothing
    "slowloris": (b"", SLOW_HEAD),  # the request's headers at 1 byte/s, never finished
}


class Attack:
    """``count`` connections of one ``kind`` (see KINDS), held open until ``stop()``."""

    def __init__(self, port: int, kind: str, count: int, interval: float = 1.0):
        self.port = port
        self.first, self.trickle = KINDS[kind]
        self.kind = kind
        self.count = count
        self.interval = interval
        self.opened = 0
        self.reopened = 0
        self.failed_to_connect = 0
        self._selector = selectors.DefaultSelector()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"attack-{kind}", daemon=True)

    def __enter__(self) -> Attack:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> None:
        for _ in range(self.count):
            self._open()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()
        self._selector.close()

    def _open(self) -> None:
        try:
            connection = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            connection.sendall(self.first)
        except OSError:
            self.failed_to_connect += 1
            return
        connection.setblocking(False)
        self.opened += 1
        self._selector.register(connection, selectors.EVENT_READ, data={"sent": 0})

    def _run(self) -> None:
        next_byte = time.monotonic() + self.interval
        while not self._stop.is_set():
            # Whatever the server sends (an answer, a close) ends that connection; open another.
            for key, _ in self._selector.select(timeout=min(0.1, max(0.0, next_byte - time.monotonic()))):
                self._selector.unregister(key.fileobj)
                key.fileobj.close()
                self.reopened += 1
                self._open()
            if time.monotonic() >= next_byte:
                next_byte += self.interval
                self._send_one_byte_each()

    def _send_one_byte_each(self) -> None:
        if not self.trickle:
            return
        for key in list(self._selector.get_map().values()):
            state = key.data
            if state["sent"] < len(self.trickle):
                try:
                    key.fileobj.send(self.trickle[state["sent"] : state["sent"] + 1])
                    state["sent"] += 1
                except OSError:
                    pass  # the next select() sees the connection closed

    @property
    def held(self) -> int:
        """Connections open right now."""
        return len(self._selector.get_map()) if not self._stop.is_set() else 0
