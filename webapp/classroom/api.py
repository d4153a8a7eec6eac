"""The classroom's JSON API: open a class, keep a drawing with consent, the class's figures, exports, deletion.

Who may do what: anyone with the class code may add a drawing (with
consent); the teacher token reads, exports and deletes everything of its
class; a drawing's delete token deletes that drawing only. A missing token
is a 401 and a wrong one a 403, the same whether or not the class or the
drawing exists, so a guessed code or id learns nothing.

The views' URLs and methods are listed in ``wiring.API_ROUTES``, which
registers them without importing this module (nor SQLAlchemy) until a class
request comes.
"""

from __future__ import annotations

import base64
import time
from datetime import datetime, timedelta, timezone

import numpy as np
from flask import Response, current_app, jsonify, request
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from webapp.admission import offload
from webapp.api import admitted, gate_verdict, loaded_registry, prepared_image, verdict
# Modules by their full names: the package, whose __init__ wires this module into the app, is not imported
# (no import circle: tests/test_layout.py).
import webapp.classroom.exports as exports
import webapp.classroom.figures as figures
import webapp.classroom.tokens as tokens
import webapp.classroom.store as store
from webapp.classroom.models import Classroom, Drawing, Reading
from webapp.classroom.store import get_session, now
from webapp.classroom.wiring import close_session
from webapp.errors import ApiError
from webapp.preprocess import Prepared

MAX_LIST = 200


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def unauthorized() -> ApiError:
    return ApiError(401, "unauthorized", "this needs a token: send Authorization: Bearer <token>",
                    {"WWW-Authenticate": 'Bearer realm="classroom"'})


def forbidden() -> ApiError:
    return ApiError(403, "forbidden", "the token does not allow this; use the teacher token of this class "
                    "(or, to delete one drawing, the delete token it was given)")


def find_class(code: str) -> Classroom | None:
    code = tokens.normalise_code(code)
    if not tokens.is_code(code):
        return None
    return get_session().scalar(select(Classroom).where(Classroom.code == code))


def teacher_class(code: str) -> Classroom:
    """The class ``code`` names, when the request carries its teacher token; else 401/403 (never 404)."""
    token = bearer_token()
    if token is None:
        raise unauthorized()
    classroom = find_class(code)
    if not tokens.matches(token, classroom.teacher_token_hash if classroom else None):
        raise forbidden()
    return classroom


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def retention() -> timedelta:
    return timedelta(days=float(current_app.config["CLASSROOM_RETENTION_DAYS"]))


def create_class() -> tuple[Response, int]:
    """Open a class: a code for the board and a secret teacher token."""
    admin = current_app.config.get("CLASSROOM_ADMIN_TOKEN")
    if admin:
        token = bearer_token()
        if token is None:
            raise unauthorized()
        if not tokens.matches(token, tokens.hashed(str(admin))):
            raise forbidden()
    session = get_session()
    teacher_token = tokens.new_token()
    moment = now()
    for _attempt in range(5):
        code = tokens.new_code()
        session.add(Classroom(code=code, teacher_token_hash=tokens.hashed(teacher_token), created_at=moment,
                              window_start=moment, window_count=0, drawings_count=0))
        try:
            session.commit()
            break
        except IntegrityError:  # the code was taken: draw another
            session.rollback()
    else:
        raise ApiError(503, "busy", "no free class code was found; retry")
    return jsonify(code=code, teacher_token=teacher_token), 201


def _label() -> int:
    text = request.args.get("label", "")
    if text not in [str(digit) for digit in range(10)]:
        raise ApiError(400, "invalid-label", f"label must be the digit drawn, 0 to 9; got {text[:20]!r}")
    return int(text)


def join(code: str) -> Response:
    """Say whether a class with this code takes drawings, and how long they are kept."""
    classroom = find_class(code)
    if classroom is None:
        raise ApiError(404, "unknown-class", "no class has this code; check the code on the board")
    return jsonify(code=classroom.code, retention_days=current_app.config["CLASSROOM_RETENTION_DAYS"])


def add_drawing(code: str) -> tuple[Response, int]:
    """Keep one labelled drawing for the class, with the student's consent; answer every network's reading."""
    if request.args.get("consent") != "true":
        raise ApiError(400, "consent-required", "a drawing is kept only with consent=true: tick the box "
                       "that says this drawing may be kept for the class; nothing was stored")
    label = _label()
    if find_class(code) is None:
        raise ApiError(404, "unknown-class", "no class has this code; check the code on the board")
    close_session()  # no connection (nor transaction) held while the drawing waits for a work slot
    # The readings take a work slot (CPU); the commit does not: a slot waits for no database.
    prepared, readings = admitted(read_drawing)()
    return _store_drawing(tokens.normalise_code(code), label, prepared, readings)


def read_drawing() -> tuple[Prepared, dict[str, dict]]:
    """The request's drawing, prepared, and every served network's reading of it (the gate run once).

    About 15 ms of CPU in all. On gevent a request that computes holds its worker's event loop, and
    every other request of the worker waits behind it: under 20 students posting at once that wait
    grew past QUEUE_TIMEOUT_SECONDS and the lag-based shedding answered 503 "busy". So the decoding
    (a third of it, pure numpy and Pillow) runs off the loop (``offload``), and the loop is given back
    between the networks (one LiteRT call, at most ~2 ms, each): the interpreters' pools are the
    loop's own and stay on it.

    Raises:
        ApiError: 400 when the image is unreadable or nothing was drawn.
    """
    prepared = offload(prepared_image)
    if prepared.empty:
        raise ApiError(400, "empty-drawing", "nothing was drawn (or only a speck); draw the digit, then send it")
    registry = loaded_registry()
    not_a_digit = gate_verdict(prepared, registry.gate)
    readings = {}
    for name in registry.names:
        time.sleep(0)  # on gevent: let the worker's other greenlets run between two networks
        network = registry.get(name)
        _, best, confidence, reason, _ = verdict(prepared, network, network.predict(prepared.image), registry.gate,
                                                 not_a_digit=not_a_digit)
        readings[name] = {"digit": None if reason else best, "best": best, "confidence": round(confidence, 4),
                          "reason": reason}
    return prepared, readings


def _store_drawing(code: str, label: int, prepared: Prepared, readings: dict[str, dict]) -> tuple[Response, int]:
    config = current_app.config
    moment = now()
    delete_token = tokens.new_token()
    drawing = store.NewDrawing(code=code, label=label, image=prepared.image.astype(np.uint8).tobytes(),
                               readings=readings, public_id=tokens.new_public_id(),
                               delete_token_hash=tokens.hashed(delete_token), moment=moment)
    limits = store.Limits(max_drawings=config["CLASSROOM_MAX_DRAWINGS"], rate_limit=config["CLASSROOM_RATE_LIMIT"],
                          window_seconds=config["CLASSROOM_RATE_WINDOW_SECONDS"])
    try:
        # Committed before the 201 (SQLite: WAL + synchronous=FULL; PostgreSQL: synchronous_commit).
        store.store_drawing(store.get_store().ready(), drawing, limits)
    except store.NotStored as refusal:
        raise {
            "unknown-class": ApiError(404, "unknown-class", "no class has this code; check the code on the board"),
            "rate-limited": ApiError(
                429, "rate-limited", f"this class sent more than {limits.rate_limit} drawings in "
                f"{limits.window_seconds:g} s; wait a little and send it again",
                {"Retry-After": str(int(limits.window_seconds))}),
            "class-full": ApiError(409, "class-full", f"this class already keeps {limits.max_drawings} drawings, "
                                   "its limit; the teacher can delete some"),
        }[refusal.reason] from None
    public = {name: {key: value[key] for key in ("digit", "confidence", "reason")} for name, value in readings.items()}
    return jsonify(id=drawing.public_id, delete_token=delete_token, label=label, readings=public,
                   pixels=base64.b64encode(drawing.image).decode("ascii"),
                   expires=(moment + retention()).isoformat()), 201


def class_figures(code: str) -> Response:
    """The class's figures: drawings per digit, each network's accuracy and confusion matrix."""
    classroom = teacher_class(code)
    session = get_session()
    # Two GROUP BYs over indexes: no drawing's readings are read one by one, however many the class keeps.
    per_label = session.execute(
        select(Drawing.label, func.count(), func.min(Drawing.created_at))
        .where(Drawing.class_id == classroom.id).group_by(Drawing.label)
    ).all()
    cells = session.execute(
        select(Reading.model, Reading.label, Reading.best, func.count())
        .where(Reading.class_id == classroom.id).group_by(Reading.model, Reading.label, Reading.best)
    ).all()
    answer = figures.class_figures({label: count for label, count, _oldest in per_label}, cells, loaded_registry())
    oldest = min((as_utc(oldest) for _label, _count, oldest in per_label), default=None)
    answer.update(
        code=classroom.code,
        created_at=as_utc(classroom.created_at).isoformat(),
        retention_days=current_app.config["CLASSROOM_RETENTION_DAYS"],
        next_deletion=(oldest + retention()).isoformat() if oldest else None,
        limits={"drawings": current_app.config["CLASSROOM_MAX_DRAWINGS"],
                "per_window": current_app.config["CLASSROOM_RATE_LIMIT"],
                "window_seconds": current_app.config["CLASSROOM_RATE_WINDOW_SECONDS"]},
        finetuned=figures.finetuned(current_app.config["ARTIFACTS_DIR"], classroom.code),
    )
    response = jsonify(answer)
    response.cache_control.no_store = True
    return response


def list_drawings(code: str) -> Response:
    """The class's drawings, newest first; ``label``, ``model`` + ``predicted`` pick a confusion-matrix cell."""
    classroom = teacher_class(code)
    query = select(Drawing).where(Drawing.class_id == classroom.id)
    if request.args.get("label") is not None:
        query = query.where(Drawing.label == _label())
    model, predicted = request.args.get("model"), request.args.get("predicted")
    if model is not None or predicted is not None:
        if predicted not in [str(digit) for digit in range(10)] or not model:
            raise ApiError(400, "invalid-cell", "a cell is model=<name>&predicted=<0-9> (with label=<0-9>)")
        query = query.where(select(Reading.drawing_id).where(
            Reading.drawing_id == Drawing.id, Reading.model == model, Reading.best == int(predicted)).exists())
    offset = _whole("offset", 0, 1_000_000, 0)
    limit = _whole("limit", 1, MAX_LIST, 100)
    session = get_session()
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    drawings = session.scalars(
        query.order_by(Drawing.created_at.desc(), Drawing.id.desc()).offset(offset).limit(limit)
    ).all()
    readings: dict[int, dict] = {drawing.id: {} for drawing in drawings}
    if drawings:
        for reading in session.scalars(select(Reading).where(Reading.drawing_id.in_(list(readings)))):
            readings[reading.drawing_id][reading.model] = {
                "digit": reading.digit, "best": reading.best, "confidence": round(reading.confidence, 4)}
    response = jsonify(total=total, drawings=[
        {"id": drawing.public_id, "label": drawing.label, "created_at": as_utc(drawing.created_at).isoformat(),
         "pixels": base64.b64encode(drawing.image).decode("ascii"), "readings": readings[drawing.id]}
        for drawing in drawings
    ])
    response.cache_control.no_store = True
    return response


def _whole(name: str, low: int, high: int, default: int) -> int:
    text = request.args.get(name)
    if text is None:
        return default
    # ASCII digits only, and few of them: str.isdigit() takes "²" and "٣", which int() refuses or reads.
    if not (text.isascii() and text.isdigit() and len(text) <= len(str(high))) or not low <= int(text) <= high:
        raise ApiError(400, f"invalid-{name}", f"{name} must be a whole number from {low} to {high}")
    return int(text)


def export(code: str) -> Response:
    """The class's images and labels as a zip: MNIST's IDX files, CSV or npz."""
    classroom = teacher_class(code)
    kind = request.args.get("format", "idx")
    if kind not in exports.FORMATS:
        raise ApiError(400, "invalid-format", f"format must be one of {', '.join(exports.FORMATS)}; got {kind[:20]!r}")
    rows = get_session().execute(
        select(Drawing.image, Drawing.label).where(Drawing.class_id == classroom.id).order_by(Drawing.id)
    ).all()
    images = np.frombuffer(b"".join(row.image for row in rows), dtype=np.uint8).reshape(len(rows), 28, 28)
    labels = np.array([row.label for row in rows], dtype=np.uint8)
    response = current_app.response_class(exports.zipped(kind, images, labels), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="class-{classroom.code.lower()}-{kind}.zip"'
    response.cache_control.no_store = True
    return response


def delete_drawing(code: str, drawing_id: str) -> tuple[str, int]:
    """Delete one drawing: its own delete token, or the class's teacher token."""
    token = bearer_token()
    if token is None:
        raise unauthorized()
    session = get_session()
    code = tokens.normalise_code(code)
    found = None
    if tokens.is_code(code) and tokens.is_public_id(drawing_id):
        found = session.execute(
            select(Drawing.id, Drawing.delete_token_hash, Classroom.teacher_token_hash)
            .join(Classroom, Drawing.class_id == Classroom.id)
            .where(Classroom.code == code, Drawing.public_id == drawing_id)
        ).first()
    own = tokens.matches(token, found.delete_token_hash if found else None)
    teacher = tokens.matches(token, found.teacher_token_hash if found else None)
    if not (own or teacher):
        raise forbidden()
    store.delete_drawings(session, Drawing.id == found.id)
    session.commit()
    return "", 204


def delete_class(code: str) -> tuple[str, int]:
    """Delete the class and every drawing of it."""
    classroom = teacher_class(code)
    session = get_session()
    session.execute(delete(Drawing).where(Drawing.class_id == classroom.id))
    session.execute(delete(Classroom).where(Classroom.id == classroom.id))
    session.commit()
    return "", 204
