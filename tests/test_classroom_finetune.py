"""Retraining on a class's drawings (train.finetune) on tiny data: the class network is installed and served,
its card holds before/after on the held-out drawings and MNIST, and the class page's figures show it."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from tests.classroom_support import classroom_app, database_url, postgres  # noqa: F401 - fixtures
from tests.conftest import png_bytes
from webapp.classroom import store
from webapp.artifacts import CARD_FILE, KERAS_FILE, SERVED_FILES, discover


@pytest.fixture()
def artifacts(small_artifacts, tmp_path):
    """The small networks, with digit-lens's model.keras in its folder as a trained network has."""
    folder = tmp_path / "artifacts"
    shutil.copytree(small_artifacts, folder)
    shutil.copy(small_artifacts / "digit-lens.keras", folder / "digit-lens" / KERAS_FILE)
    return folder


def test_finetune_installs_a_class_network(artifacts, database_url, mnist):  # noqa: F811
    from train import finetune

    app = classroom_app(artifacts, database_url)
    client = app.test_client()
    answer = client.post("/api/classes").get_json()
    code, token = answer["code"], answer["teacher_token"]
    for index in range(24):  # MNIST test digits, dark ink on light as a pad sends them
        image = 255 - mnist.test_images[index]
        posted = client.post(f"/api/classes/{code}/drawings?label={mnist.test_labels[index]}&consent=true",
                             data=png_bytes(image), content_type="image/png")
        assert posted.status_code == 201, posted.get_json()
    store.get_store(app).engine.dispose()

    with pytest.raises(finetune.FinetuneError, match="no class"):
        finetune.finetune("NOPE4444", database_url, artifacts=artifacts, verbose=False)
    assert finetune.main(["--class", code.lower(), "--database-url", database_url, "--artifacts", str(artifacts),
                          "--epochs", "1", "--steps", "2", "--mnist-test-limit", "200"]) == 0

    name = f"class-{code.lower()}"
    assert name in discover(artifacts)
    folder = artifacts / name
    assert all((folder / file).is_file() for file in SERVED_FILES) and (folder / KERAS_FILE).is_file()
    card = json.loads((folder / CARD_FILE).read_text())
    section = card["classroom"]
    assert section["base"] == "digit-lens" and section["trained_on"] + section["held_out"] == 24
    assert section["held_out"] >= 1 and section["mnist_test_images"] == 200
    for moment in ("before", "after"):
        assert set(section[moment]) == {"class", "mnist"}
        assert all(0.0 <= value <= 1.0 for value in section[moment].values())
    assert card["test"]["images"] == 200 and card["input_shape"] == [28, 28, 1]

    # A restarted app serves it, and the class page's figures carry the comparison.
    app = classroom_app(artifacts, database_url)
    client = app.test_client()
    assert name in [model["name"] for model in client.get("/api/models").get_json()["models"]]
    figures = client.get(f"/api/classes/{code}", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert figures["finetuned"]["model"] == name and figures["finetuned"]["after"] == section["after"]
    assert figures["drawings"] == 24
    drawn = client.post(f"/api/classes/{code}/drawings?label=7&consent=true",
                        data=png_bytes(255 - mnist.test_images[0]), content_type="image/png").get_json()
    assert name in drawn["readings"]
    store.get_store(app).engine.dispose()


def test_held_out_split_covers_every_digit_drawn_twice():
    from train.finetune import split_held_out

    labels = np.array([0, 0, 0, 0, 1, 1, 2, 3, 3, 3, 3, 3, 3, 3, 3])
    train, held = split_held_out(labels, 0.25, seed=1)
    assert set(labels[held]) == {0, 1, 3} and not set(train) & set(held)
    assert len(train) + len(held) == len(labels) and (labels[held] == 3).sum() == 2
