"""Request ids and JSON access logs.

Every response carries ``X-Request-ID``: the client's own when it sent a sane one (1-128 characters of
letters, digits and ``-_.:``; a proxy's id, say), otherwise a fresh random one. With ``LOG_FORMAT=json``
gunicorn writes its access log as one JSON object per line (``JsonLogger``, set in gunicorn_conf), the
request id among its fields, so a log line, a client's report and a proxy's log can be matched.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid

from flask import Flask, Response, request
from gunicorn.glogging import Logger

REQUEST_ID_HEADER = "X-Request-ID"
ENVIRON_KEY = "digit_lens.request_id"
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def init_app(app: Flask) -> None:
    app.before_request(_take_request_id)
    app.after_request(_send_request_id)


def request_id(sent: str | None) -> str:
    """The client's id when it is sane, else a new one (32 hex digits)."""
    if sent is not None and _SANE_ID.fullmatch(sent):
        return sent
    return uuid.uuid4().hex


def _take_request_id() -> None:
    request.environ[ENVIRON_KEY] = request_id(request.headers.get(REQUEST_ID_HEADER))


def _send_request_id(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = request.environ.get(ENVIRON_KEY) or request_id(None)
    return response


class JsonLogger(Logger):
    """gunicorn's logger, with each access log line a JSON object (gunicorn's ``logger_class``)."""

    def access(self, resp, req, environ, request_time) -> None:
        if not (self.cfg.accesslog or self.cfg.logconfig or self.cfg.logconfig_dict or self.cfg.syslog):
            return
        headers = dict(getattr(resp, "headers", None) or [])
        record = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z",
            "request_id": environ.get(ENVIRON_KEY) or headers.get(REQUEST_ID_HEADER),
            "remote_addr": environ.get("REMOTE_ADDR"),
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "query": environ.get("QUERY_STRING") or None,
            "status": getattr(resp, "status_code", None),
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 3),
            "user_agent": environ.get("HTTP_USER_AGENT"),
            "referer": environ.get("HTTP_REFERER"),
            "pid": os.getpid(),
        }
        try:
            self.access_log.info(json.dumps(record, ensure_ascii=True))
        except Exception:  # noqa: BLE001 - as gunicorn's own access(): a log line never fails a request
            self.exception("Failed to write the JSON access log line")
