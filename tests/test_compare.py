"""Every network's reading in one request (POST /api/predict?compare=1), and the pages' network chooser."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import SMALL_32
from train.drawings import random_drawing, render
from webapp.artifacts import ARTIFACTS


@pytest.fixture(scope="module")
def three_png() -> bytes:
    return render(random_drawing(np.random.default_rng(3), 3))


@pytest.fixture(scope="module")
def shipped_client():
    """The app on the shipped networks (all five), not the small test ones, nor an operator's folder
    ($DIGIT_LENS_ARTIFACTS_DIR, which may hold imported networks besides them)."""
    from webapp import create_app

    return create_app({"TESTING": True, "ARTIFACTS_DIR": str(ARTIFACTS)}).test_client()


def test_compare_answers_every_network_as_each_would_alone(client, three_png):
    answer = client.post(f"/api/predict?model={SMALL_32}&compare=1", data=three_png, content_type="image/png").get_json()
    names = [entry["name"] for entry in client.get("/api/models").get_json()["models"]]
    assert [entry["model"] for entry in answer["compare"]] == names == ["digit-lens", SMALL_32]
    for entry in answer["compare"]:
        alone = client.post(f"/api/predict?model={entry['model']}", data=three_png, content_type="image/png").get_json()
        assert set(entry) == {"model", "digit", "confidence", "reason"}
        assert entry["digit"] == alone["digit"] and entry["reason"] == alone["reason"]
        assert entry["confidence"] == pytest.approx(alone["confidence"], abs=1e-9)
    # The rest of the answer is the chosen network's, as without compare.
    chosen = client.post(f"/api/predict?model={SMALL_32}", data=three_png, content_type="image/png").get_json()
    assert {key: value for key, value in answer.items() if key != "compare"} == chosen


def test_compare_on_a_blank_pad_is_empty_for_every_network(client):
    from tests.conftest import png_bytes

    blank = png_bytes(np.full((280, 280), 255, dtype=np.uint8))
    answer = client.post("/api/predict?compare=1", data=blank, content_type="image/png").get_json()
    assert [entry["reason"] for entry in answer["compare"]] == ["empty", "empty"]
    assert all(entry["digit"] is None for entry in answer["compare"])


@pytest.mark.parametrize("value", ["2", "yes", "", "true"])
def test_compare_takes_only_0_or_1(client, three_png, value):
    response = client.post(f"/api/predict?compare={value}", data=three_png, content_type="image/png")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid-compare"


def test_without_compare_there_is_no_compare(client, three_png):
    for query in ("", "?compare=0"):
        answer = client.post(f"/api/predict{query}", data=three_png, content_type="image/png").get_json()
        assert "compare" not in answer


def test_compare_with_an_unknown_model_is_still_a_404(client, three_png):
    response = client.post("/api/predict?model=nope&compare=1", data=three_png, content_type="image/png")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "unknown-model"


def test_the_shipped_networks_all_read_a_drawn_three(shipped_client, three_png):
    answer = shipped_client.post("/api/predict?compare=1", data=three_png, content_type="image/png").get_json()
    assert [entry["model"] for entry in answer["compare"]] == [
        "digit-lens", "keras-mnist", "lenet", "simple-convnet", "torch-net"
    ]
    assert [entry["digit"] for entry in answer["compare"]] == [3] * 5


@pytest.mark.parametrize("path", ["/", "/layers"])
def test_pages_offer_every_network_and_keep_the_chosen_one(shipped_client, path):
    html = shipped_client.get(f"{path}?model=torch-net").get_data(as_text=True)
    for name in ("digit-lens", "keras-mnist", "lenet", "simple-convnet", "torch-net"):
        assert f'<option value="{name}"' in html
    assert '<option value="torch-net" data-input-size="32" selected>' in html
    # Links to either page carry the network.
    assert 'href="/layers?model=torch-net"' in html and 'href="/?model=torch-net"' in html
    # An unknown name shows the default, and the default is chosen without ?model= too.
    for query in ("?model=nope", ""):
        html = shipped_client.get(f"{path}{query}").get_data(as_text=True)
        assert '<option value="digit-lens" data-input-size="28" selected>' in html


def test_the_drawing_page_has_one_compare_entry_per_network(shipped_client):
    html = shipped_client.get("/?model=lenet").get_data(as_text=True)
    for name in ("digit-lens", "keras-mnist", "lenet", "simple-convnet", "torch-net"):
        assert f'<li data-model="{name}"' in html
    assert '<li data-model="lenet" aria-current="true">' in html


def count_forward_passes(monkeypatch) -> list[tuple[str, str]]:
    """Every Network.predict / Network.features / Gate.not_a_digit call from now on, as (method, network name)."""
    from webapp.gate import Gate
    from webapp.model import Network

    calls = []
    for cls, method in ((Network, "predict"), (Network, "features"), (Gate, "not_a_digit")):
        original = getattr(cls, method)

        def counted(self, *args, _original=original, _method=method, **kwargs):
            calls.append((_method, getattr(self, "name", "gate")))
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, method, counted)
    return calls


def test_compare_runs_each_network_once_and_the_gate_once(shipped_client, three_png, monkeypatch):
    """?compare=1, which the drawing page sends on every update: one forward pass per network, one gate call."""
    shipped_client.get("/readyz")
    calls = count_forward_passes(monkeypatch)
    answer = shipped_client.post("/api/predict?model=lenet&compare=1", data=three_png, content_type="image/png").get_json()
    assert answer["digit"] == 3 and len(answer["compare"]) == 5
    gate_calls = [call for call in calls if call[0] == "not_a_digit"]
    network_calls = [call for call in calls if call[0] != "not_a_digit"]
    assert len(gate_calls) == 1
    # The gate is a Network too: its one call is a predict of "_gate"; every served network runs exactly once.
    served = sorted(name for method, name in network_calls if name != "_gate")
    assert served == ["digit-lens", "keras-mnist", "lenet", "simple-convnet", "torch-net"]
    assert all(method == "predict" for method, _ in network_calls)


def test_the_bench_baseline_does_what_compare_did_before(three_png, monkeypatch):
    """make bench's /bench/predict-before is the old ?compare=1 (10ef3c7): 12 forward passes and 6 gate runs.

    The chosen network ran twice (its own reading, then again in the row) and
    every reading ran the gate, which is a network too: 6 + 6 passes. Its answer
    is today's, so the bench's before/after compares the same work done two ways.
    """
    from bench.app import bp
    from webapp import create_app

    app = create_app({"TESTING": True, "ARTIFACTS_DIR": str(ARTIFACTS)})  # the shipped five, as 10ef3c7 served
    app.register_blueprint(bp)
    client = app.test_client()
    client.get("/readyz")
    now = client.post("/api/predict?model=lenet&compare=1", data=three_png, content_type="image/png").get_json()
    calls = count_forward_passes(monkeypatch)
    before = client.post("/bench/predict-before?model=lenet&compare=1", data=three_png, content_type="image/png")
    assert before.status_code == 200 and before.get_json() == now
    assert sorted(name for method, name in calls if method == "predict" and name != "_gate") == [
        "digit-lens", "keras-mnist", "lenet", "lenet", "simple-convnet", "torch-net"
    ]
    assert [name for method, name in calls if method == "predict" and name == "_gate"] == ["_gate"] * 6
    assert [method for method, _ in calls].count("not_a_digit") == 6
    assert len([call for call in calls if call[0] == "predict"]) == 12 and len(calls) == 18


@pytest.mark.parametrize("name", ["digit-lens", "lenet", "torch-net"])
def test_the_footer_names_the_chosen_network_and_its_accuracy(shipped_client, name):
    import json
    import re

    from webapp.artifacts import CARD_FILE

    accuracy = json.loads((ARTIFACTS / name / CARD_FILE).read_text())["test"]["accuracy"]
    html = shipped_client.get(f"/layers?model={name}&lang=en").get_data(as_text=True)
    footer = re.search(r'<footer class="site-footer">(.*?)</footer>', html, re.S)[1]
    assert f"{name}, a CNN trained on MNIST ({accuracy:.2%} on the 10,000 MNIST test digits)" in " ".join(footer.split())
    assert "LeNet-style" not in footer
