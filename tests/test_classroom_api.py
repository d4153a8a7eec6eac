"""The classroom API on SQLite and on a real PostgreSQL: consent, every way to be refused, exports, retention,
limits, migrations."""

from __future__ import annotations

import csv
import io
import json
import struct
import zipfile
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import create_engine, inspect, text

from bench.load import page_png
from tests.classroom_support import classroom_app, database_url, postgres  # noqa: F401 - fixtures
from webapp.classroom import store
from webapp.classroom.models import Base

PNG = {digit: page_png(digit, 500 + digit) for digit in range(10)}


@pytest.fixture()
def classroom(small_artifacts, database_url):  # noqa: F811
    app = classroom_app(small_artifacts, database_url)
    yield app
    store.get_store(app).engine.dispose()


@pytest.fixture()
def client(classroom):
    return classroom.test_client()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def open_class(client) -> tuple[str, str]:
    answer = client.post("/api/classes")
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["code"], answer.get_json()["teacher_token"]


def draw(client, code: str, label: int, consent: str | None = "true", **headers):
    query = f"?label={label}" + (f"&consent={consent}" if consent is not None else "")
    return client.post(f"/api/classes/{code}/drawings{query}", data=PNG[label], content_type="image/png",
                       headers=headers)


def figures(client, code: str, token: str) -> dict:
    answer = client.get(f"/api/classes/{code}", headers=bearer(token))
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def test_a_class_collects_drawings_and_reads_its_figures(client):
    code, token = open_class(client)
    assert len(code) == 8 and len(token) >= 43  # 256 random bits in URL-safe base64
    for label in (3, 3, 7):
        answer = draw(client, code, label)
        assert answer.status_code == 201, answer.get_json()
        body = answer.get_json()
        assert body["id"] and len(body["delete_token"]) >= 43
        assert set(body["readings"]) == {"digit-lens", "small-32"}
        for reading in body["readings"].values():
            assert 0 <= reading["confidence"] <= 1 and reading["digit"] in (None, *range(10))
    result = figures(client, code, token)
    assert result["code"] == code and result["drawings"] == 3
    assert result["per_digit"] == [0, 0, 0, 2, 0, 0, 0, 1, 0, 0]
    for model in result["models"].values():
        confusion = np.array(model["confusion"])
        assert confusion.shape == (10, 10) and confusion.sum() == 3
        assert confusion[3].sum() == 2 and confusion[7].sum() == 1
        assert model["accuracy"] == pytest.approx(np.trace(confusion) / 3)
    assert result["retention_days"] == 30 and result["next_deletion"]
    # A lower-case code, as a student may type it, is the same class.
    assert draw(client, code.lower(), 1).status_code == 201


@pytest.mark.parametrize("consent", [None, "false", "1", "yes", ""])
def test_without_consent_nothing_is_stored(client, consent):
    code, token = open_class(client)
    answer = draw(client, code, 4, consent=consent)
    assert answer.status_code == 400 and answer.get_json()["error"]["code"] == "consent-required"
    assert figures(client, code, token)["drawings"] == 0


@pytest.mark.parametrize("label", ["", "10", "-1", "a", "3.0"])
def test_a_label_is_a_digit(client, label):
    code, _ = open_class(client)
    answer = client.post(f"/api/classes/{code}/drawings?consent=true&label={label}", data=PNG[1],
                         content_type="image/png")
    assert answer.status_code == 400 and answer.get_json()["error"]["code"] == "invalid-label"


def test_unknown_class_and_empty_drawing(client):
    answer = draw(client, "NOPE4444", 2)
    assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "unknown-class"
    assert client.get("/api/classes/NOPE4444/join").status_code == 404
    code, _ = open_class(client)
    blank = client.post(f"/api/classes/{code}/drawings?label=1&consent=true",
                        data=page_png(1, 1)[:0] or _blank_png(), content_type="image/png")
    assert blank.status_code == 400 and blank.get_json()["error"]["code"] == "empty-drawing"
    assert client.get(f"/api/classes/{code}/join").get_json()["retention_days"] == 30


def _blank_png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (280, 280), 255).save(buffer, "PNG")
    return buffer.getvalue()


def state(client, code: str, token: str) -> tuple[int, list]:
    listing = client.get(f"/api/classes/{code}/drawings", headers=bearer(token)).get_json()
    return listing["total"], sorted(drawing["id"] for drawing in listing["drawings"])


def test_every_wrong_token_is_refused_and_changes_nothing(client):
    code, token = open_class(client)
    other_code, other_token = open_class(client)
    mine = draw(client, code, 5).get_json()
    theirs = draw(client, code, 6).get_json()
    other_drawing = draw(client, other_code, 6).get_json()
    before, before_other = state(client, code, token), state(client, other_code, other_token)

    teacher_requests = [
        ("GET", f"/api/classes/{code}"),
        ("GET", f"/api/classes/{code}/drawings"),
        ("GET", f"/api/classes/{code}/export?format=idx"),
        ("DELETE", f"/api/classes/{code}"),
        ("DELETE", f"/api/classes/{code}/drawings/{mine['id']}"),
    ]
    refusals = {
        "no token": ({}, 401),
        "not bearer": ({"Authorization": f"Basic {token}"}, 401),
        "empty bearer": ({"Authorization": "Bearer "}, 401),
        "wrong token": (bearer("x" * 43), 403),
        "another class's teacher token": (bearer(other_token), 403),
        "a student's delete token on another drawing": (bearer(theirs["delete_token"]), 403),
    }
    for method, url in teacher_requests:
        for case, (headers, status) in refusals.items():
            answer = client.open(url, method=method, headers=headers)
            assert answer.status_code == status, (method, url, case, answer.status_code)
            assert answer.is_json and answer.get_json()["error"]["code"] in ("unauthorized", "forbidden")
            assert code not in answer.get_data(as_text=True).replace(url, "")
    # A student's own delete token opens nothing but its own drawing.
    for method, url in teacher_requests[:4]:
        assert client.open(url, method=method, headers=bearer(mine["delete_token"])).status_code == 403
    # Someone else's drawing in another class, with my token; an unknown class or drawing: the same 403.
    for url in (f"/api/classes/{other_code}/drawings/{other_drawing['id']}",
                f"/api/classes/{code}/drawings/{other_drawing['id']}",
                f"/api/classes/{code}/drawings/nosuchdrawing",
                f"/api/classes/NOPE4444/drawings/{mine['id']}"):
        answer = client.delete(url, headers=bearer(mine["delete_token"]))
        assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "forbidden"
    for url in ("/api/classes/NOPE4444", "/api/classes/NOPE4444/export"):
        assert client.get(url, headers=bearer(token)).status_code == 403  # unknown: as a wrong token
        assert client.get(url).status_code == 401
    assert state(client, code, token) == before and state(client, other_code, other_token) == before_other

    # The right tokens: a student deletes their own drawing, the teacher any.
    assert client.delete(f"/api/classes/{code}/drawings/{mine['id']}", headers=bearer(mine["delete_token"])).status_code == 204
    assert client.delete(f"/api/classes/{code}/drawings/{theirs['id']}", headers=bearer(token)).status_code == 204
    assert state(client, code, token) == (0, [])
    assert client.delete(f"/api/classes/{code}", headers=bearer(token)).status_code == 204
    assert client.get(f"/api/classes/{code}", headers=bearer(token)).status_code == 403
    assert draw(client, code, 1).status_code == 404
    assert state(client, other_code, other_token) == before_other


def bad_requests(code: str, drawing_id: str) -> list[tuple[str, str, dict]]:
    """Requests no client should send: odd codes and ids (a NUL byte PostgreSQL's text refuses, 5,000
    characters, non-ASCII), numbers that are not a few ASCII digits, images that are not drawings."""
    odd_codes = ["%00", f"{code}%00", "A" * 5000, "%C3%A9%E2%80%AE", "'%20OR%201=1--"]
    teacher = bearer("x" * 43)
    requests = []
    for odd in odd_codes:
        requests += [("GET", f"/api/classes/{odd}/join", {}),
                     ("POST", f"/api/classes/{odd}/drawings?label=3&consent=true", {"data": PNG[3]}),
                     ("GET", f"/api/classes/{odd}", teacher),
                     ("GET", f"/api/classes/{odd}/export", teacher),
                     ("DELETE", f"/api/classes/{odd}/drawings/{drawing_id}", teacher),
                     ("DELETE", f"/api/classes/{odd}", teacher)]
    for odd_id in ("%00", f"{drawing_id}%00", "x" * 5000, "%E2%80%AE"):
        requests.append(("DELETE", f"/api/classes/{code}/drawings/{odd_id}", teacher))
    for number in ("%C2%B2", "%D9%A3", "9" * 5000, "-1", "1e3", "0x10", "%00"):
        requests += [("GET", f"/api/classes/{code}/drawings?offset={number}", None),
                     ("GET", f"/api/classes/{code}/drawings?limit={number}", None),
                     ("GET", f"/api/classes/{code}/drawings?label={number}", None),
                     ("GET", f"/api/classes/{code}/drawings?label=3&model=digit-lens&predicted={number}", None),
                     ("POST", f"/api/classes/{code}/drawings?label={number}&consent=true", {"data": PNG[3]})]
    for body in (b"", b"not an image", PNG[3][:100], b"\x00" * 64):
        requests.append(("POST", f"/api/classes/{code}/drawings?label=3&consent=true", {"data": body}))
    for document in ('{"image": 5}', '{"image": "data:image/png;base64,!!!"}', "[1, 2]", "{", '"\\u0000"'):
        requests.append(("POST", f"/api/classes/{code}/drawings?label=3&consent=true",
                         {"data": document, "content_type": "application/json"}))
    requests += [("GET", f"/api/classes/{code}/export?format=%00", None),
                 ("GET", f"/api/classes/{code}/export?format=" + "x" * 5000, None)]
    return requests


def test_bad_input_is_a_4xx_json_error_and_loses_nothing(client):
    """Whatever a client sends, the answer is a 4xx JSON error (never a 500, never HTML) and nothing stored changes."""
    code, token = open_class(client)
    drawn = [draw(client, code, label).get_json() for label in (3, 7)]
    before, figures_before = state(client, code, token), figures(client, code, token)
    for method, url, options in bad_requests(code, drawn[0]["id"]):
        if options is None:
            options = bearer(token)  # the teacher's own token: only the parameter is wrong
        if "data" in options:
            options = {"content_type": "image/png", **options}
            answer = client.open(url, method=method, **options)
        else:
            answer = client.open(url, method=method, headers=options)
        assert 400 <= answer.status_code < 500 and answer.is_json, (method, url[:80], answer.status_code)
        assert answer.get_json()["error"]["code"], (method, url[:80])
    assert state(client, code, token) == before
    assert figures(client, code, token) == figures_before


def test_opening_a_class_can_need_the_admin_token(small_artifacts, database_url):  # noqa: F811
    app = classroom_app(small_artifacts, database_url, CLASSROOM_ADMIN_TOKEN="let-me-in-" + "a" * 30)
    client = app.test_client()
    assert client.post("/api/classes").status_code == 401
    assert client.post("/api/classes", headers=bearer("wrong")).status_code == 403
    answer = client.post("/api/classes", headers=bearer("let-me-in-" + "a" * 30))
    assert answer.status_code == 201 and answer.get_json()["code"]
    store.get_store(app).engine.dispose()


def test_exports_parse(client):
    code, token = open_class(client)
    labels = [0, 7, 7, 2, 9]
    for label in labels:
        assert draw(client, code, label).status_code == 201
    listing = client.get(f"/api/classes/{code}/drawings", headers=bearer(token)).get_json()
    stored = {drawing["label"] for drawing in listing["drawings"]}
    assert stored == set(labels)

    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/api/classes/{code}/export?format=idx", headers=bearer(token)).data))
    images_file, labels_file = archive.read("images-idx3-ubyte"), archive.read("labels-idx1-ubyte")
    assert struct.unpack(">IIII", images_file[:16]) == (0x803, 5, 28, 28)
    assert struct.unpack(">II", labels_file[:8]) == (0x801, 5)
    assert len(images_file) == 16 + 5 * 784 and list(labels_file[8:]) == labels
    from webapp.idx import IMAGES_MAGIC, LABELS_MAGIC, parse_idx  # MNIST's own reader reads them

    images = parse_idx(images_file, IMAGES_MAGIC)
    assert images.shape == (5, 28, 28) and images.max() == 255
    assert list(parse_idx(labels_file, LABELS_MAGIC)) == labels

    answer = client.get(f"/api/classes/{code}/export?format=csv", headers=bearer(token))
    assert answer.mimetype == "application/zip" and "attachment" in answer.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(zipfile.ZipFile(io.BytesIO(answer.data)).read("drawings.csv").decode())))
    assert rows[0][0] == "label" and len(rows[0]) == 785 and len(rows) == 6
    assert [int(row[0]) for row in rows[1:]] == labels
    assert np.array_equal(np.array(rows[1:], dtype=np.uint8)[:, 1:].reshape(5, 28, 28), images)

    npz = np.load(io.BytesIO(zipfile.ZipFile(io.BytesIO(
        client.get(f"/api/classes/{code}/export?format=npz", headers=bearer(token)).data)).read("drawings.npz")))
    assert npz["images"].dtype == np.uint8 and npz["images"].shape == (5, 28, 28)
    assert list(npz["labels"]) == labels and np.array_equal(npz["images"], images)
    bad = client.get(f"/api/classes/{code}/export?format=xlsx", headers=bearer(token))
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid-format"


def test_a_confusion_cell_opens_its_drawings(client):
    code, token = open_class(client)
    for label in (4, 4, 8):
        draw(client, code, label)
    cell = figures(client, code, token)["models"]["digit-lens"]["confusion"]
    predicted = int(np.argmax(cell[4]))
    answer = client.get(f"/api/classes/{code}/drawings?label=4&model=digit-lens&predicted={predicted}",
                        headers=bearer(token)).get_json()
    assert answer["total"] == cell[4][predicted]
    assert all(drawing["label"] == 4 and drawing["readings"]["digit-lens"]["best"] == predicted
               for drawing in answer["drawings"])
    assert len(np.frombuffer(__import__("base64").b64decode(answer["drawings"][0]["pixels"]), np.uint8)) == 784


def test_retention_purge(classroom, client):
    code, token = open_class(client)
    kept = draw(client, code, 1).get_json()
    old = draw(client, code, 2).get_json()
    with classroom.app_context():
        session = store.get_session()
        session.execute(text("UPDATE drawings SET created_at = :moment WHERE public_id = :id"),
                        {"moment": store.now() - timedelta(days=31), "id": old["id"]})
        session.commit()
        assert store.purge(session, 30) == (1, 0)
    assert state(client, code, token) == (1, [kept["id"]])
    with classroom.app_context():  # 40 days on, the last drawing and then the empty class go
        session = store.get_session()
        assert store.purge(session, 30, at=store.now() + timedelta(days=40)) == (1, 1)
    assert client.get(f"/api/classes/{code}", headers=bearer(token)).status_code == 403


def test_per_class_limits(small_artifacts, database_url):  # noqa: F811
    app = classroom_app(small_artifacts, database_url, CLASSROOM_RATE_LIMIT=3, CLASSROOM_MAX_DRAWINGS=100)
    client = app.test_client()
    code, token = open_class(client)
    other, _ = open_class(client)
    assert [draw(client, code, 1).status_code for _ in range(4)] == [201, 201, 201, 429]
    assert draw(client, code, 1).get_json()["error"]["code"] == "rate-limited"
    assert draw(client, other, 1).status_code == 201  # another class has its own window
    store.get_store(app).engine.dispose()

    app = classroom_app(small_artifacts, database_url, CLASSROOM_MAX_DRAWINGS=2)
    client = app.test_client()
    code, token = open_class(client)
    answers = [draw(client, code, 1) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [201, 201, 409]
    assert draw(client, code, 1).get_json()["error"]["code"] == "class-full"
    assert figures(client, code, token)["drawings"] == 2
    # A deleted drawing makes room for one more, and only one.
    first = answers[0].get_json()
    assert client.delete(f"/api/classes/{code}/drawings/{first['id']}", headers=bearer(first["delete_token"])).status_code == 204
    assert [draw(client, code, 2).status_code for _ in range(2)] == [201, 409]
    assert figures(client, code, token)["per_digit"] == [0, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    store.get_store(app).engine.dispose()


def stored_rows(app, code: str) -> tuple[int, int, int]:
    """(the class's drawing count as stored, its drawings, their readings) straight from the database."""
    with store.get_store(app).engine.connect() as connection:
        counted = connection.execute(text("SELECT drawings_count FROM classes WHERE code = :code"), {"code": code}).scalar()
        drawings = connection.execute(text("SELECT count(*) FROM drawings d JOIN classes c ON c.id = d.class_id "
                                           "WHERE c.code = :code"), {"code": code}).scalar()
        readings = connection.execute(text("SELECT count(*) FROM readings r JOIN classes c ON c.id = r.class_id "
                                           "WHERE c.code = :code"), {"code": code}).scalar()
    return counted, drawings, readings


def test_deleting_takes_a_drawings_readings_and_count_with_it(classroom, client):
    code, token = open_class(client)
    kept = [draw(client, code, label).get_json() for label in (1, 2, 2, 5)]
    networks = len(kept[0]["readings"])
    assert stored_rows(classroom, code) == (4, 4, 4 * networks)
    assert client.delete(f"/api/classes/{code}/drawings/{kept[0]['id']}", headers=bearer(token)).status_code == 204
    # Deleting it again changes nothing (a 403 now: it is gone, and no token opens what is not there).
    assert client.delete(f"/api/classes/{code}/drawings/{kept[0]['id']}", headers=bearer(token)).status_code == 403
    assert stored_rows(classroom, code) == (3, 3, 3 * networks)
    with classroom.app_context():
        session = store.get_session()
        session.execute(text("UPDATE drawings SET created_at = :moment WHERE public_id = :id"),
                        {"moment": store.now() - timedelta(days=31), "id": kept[1]["id"]})
        session.commit()
        assert store.purge(session, 30) == (1, 0)
    assert stored_rows(classroom, code) == (2, 2, 2 * networks)
    result = figures(client, code, token)
    assert result["per_digit"] == [0, 0, 1, 0, 0, 1, 0, 0, 0, 0]
    assert all(np.array(model["confusion"]).sum() == 2 for model in result["models"].values())
    assert client.delete(f"/api/classes/{code}", headers=bearer(token)).status_code == 204
    with store.get_store(classroom).engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM readings")).scalar() == 0
        assert connection.execute(text("SELECT count(*) FROM drawings")).scalar() == 0


def test_migrations_from_empty_and_up(database_url):  # noqa: F811
    """From empty to each revision and up to the head, with a class and its drawings kept on the way:
    0003 moves the readings out of a JSON column into rows and counts each class's drawings."""
    engine = store.make_engine(database_url)
    store.migrate(engine, "0001")
    readings = {"digit-lens": {"digit": 3, "best": 3, "confidence": 0.9, "reason": None},
                "lenet": {"digit": None, "best": 5, "confidence": 0.4, "reason": "uncertain"}}
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO classes (code, teacher_token_hash, created_at) "
                                "VALUES ('OLD33333', :hash, CURRENT_TIMESTAMP)"), {"hash": "0" * 64})
        class_id = connection.execute(text("SELECT id FROM classes WHERE code = 'OLD33333'")).scalar()
        for index, label in enumerate((3, 3, 8)):
            connection.execute(
                text("INSERT INTO drawings (public_id, class_id, label, image, readings, delete_token_hash, "
                     "created_at) VALUES (:public_id, :class_id, :label, :image, :readings, :hash, CURRENT_TIMESTAMP)"),
                {"public_id": f"old{index}", "class_id": class_id, "label": label, "image": bytes(784),
                 "readings": json.dumps(readings), "hash": "1" * 64})
    store.migrate(engine, "0002")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT window_count FROM classes WHERE code = 'OLD33333'")).scalar() == 0
        assert connection.execute(text("SELECT count(*) FROM drawings")).scalar() == 3  # no cascade on the copy
    store.migrate(engine)
    store.migrate(engine)  # at head already: nothing to do
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0003"
        assert connection.execute(text("SELECT drawings_count FROM classes WHERE code = 'OLD33333'")).scalar() == 3
        rows = connection.execute(text("SELECT d.public_id, r.model, r.class_id, r.label, r.digit, r.best, "
                                       "r.confidence, r.reason FROM readings r JOIN drawings d ON d.id = r.drawing_id "
                                       "ORDER BY d.public_id, r.model")).all()
    assert [tuple(row) for row in rows] == [
        (f"old{index}", model, class_id, label, readings[model]["digit"], readings[model]["best"],
         pytest.approx(readings[model]["confidence"]), readings[model]["reason"])
        for index, label in enumerate((3, 3, 8)) for model in ("digit-lens", "lenet")]
    # The migrated schema is the one the models describe.
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
    assert set(inspect(engine).get_table_names()) == {"alembic_version", "classes", "drawings", "readings"}

    # And back down to 0002: the readings return to their JSON column, whole.
    from alembic import command

    config = store.alembic_config(database_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT readings FROM drawings")).scalars().all()
    assert [json.loads(value) if isinstance(value, str) else value for value in stored] == [readings] * 3
    engine.dispose()


def test_two_processes_migrating_at_once(database_url):  # noqa: F811
    """Two workers starting together on an empty database: one migrates, the other waits and finds it done."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        pool.map(_migrate, [database_url, database_url])
    engine = create_engine(database_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0003"
    engine.dispose()


def _migrate(url: str) -> None:
    engine = store.make_engine(url)
    store.migrate(engine)
    engine.dispose()


class _NoServed:
    names: list[str] = []


def test_a_digit_read_right_every_time_is_not_called_hard():
    from webapp.classroom.figures import class_figures
    # Two networks: 3 misread once by one of them, 7 and 1 always read right.
    cells = [("a", 3, 3, 1), ("a", 3, 8, 1), ("b", 3, 3, 2), ("a", 7, 7, 1), ("b", 7, 7, 1),
             ("a", 1, 1, 4), ("b", 1, 1, 4)]
    hardest = class_figures({3: 2, 7: 1, 1: 4}, cells, _NoServed())["hardest"]
    assert [entry["digit"] for entry in hardest] == [3]
    assert hardest[0]["accuracy"] == pytest.approx(3 / 4) and hardest[0]["drawings"] == 2
    # No misreading at all: no digit is hard.
    right = [cell for cell in cells if cell[1] == cell[2]]
    assert class_figures({3: 2, 7: 1, 1: 4}, right, _NoServed())["hardest"] == []
