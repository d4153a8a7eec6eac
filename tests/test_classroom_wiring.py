"""The classroom is wired without SQLAlchemy: a worker loads the store on its first class request only."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import textwrap
from pathlib import Path

from webapp import create_app
from webapp.classroom import wiring

ROOT = Path(__file__).resolve().parent.parent

# Runs in a fresh interpreter: this test process has long since imported SQLAlchemy (other tests use it).
SCRIPT = textwrap.dedent("""
    import json, sys
    from bench.load import page_png
    from webapp import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": sys.argv[1]})
    client = app.test_client()
    seen = {}

    def step(name, response):
        seen[name] = {"status": response.status_code, "sqlalchemy": "sqlalchemy" in sys.modules,
                      "store": "webapp.classroom.store" in sys.modules}
        return response

    step("page", client.get("/"))
    step("predict", client.post("/api/predict", data=page_png(3, 0), content_type="image/png"))
    # The classroom's pages build classroom_api.* URLs (url_for) before any of its views is imported.
    step("classroom page", client.get("/classroom"))
    opened = step("open class", client.post("/api/classes")).get_json()
    step("join", client.get(f"/api/classes/{opened['code']}/join"))
    step("figures", client.get(f"/api/classes/{opened['code']}",
                               headers={"Authorization": f"Bearer {opened['teacher_token']}"}))
    print(json.dumps(seen))
""")


def test_serving_readings_never_imports_sqlalchemy_and_a_class_request_then_works(tmp_path):
    database = f"sqlite:///{tmp_path / 'classroom.sqlite3'}"
    result = subprocess.run([sys.executable, "-c", SCRIPT, database], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, env={"PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1",
                                              "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    for step in ("page", "predict", "classroom page"):
        assert seen[step] == {"status": 200, "sqlalchemy": False, "store": False}, (step, seen)
    assert seen["open class"] == {"status": 201, "sqlalchemy": True, "store": True}, seen
    assert seen["join"]["status"] == 200 and seen["figures"]["status"] == 200, seen


def test_every_api_route_names_a_view_of_the_api_module():
    from webapp.classroom import api

    for _rule, _method, view in wiring.API_ROUTES:
        function = getattr(api, view)
        assert inspect.isfunction(function) and function.__module__ == wiring.API_VIEWS, view
    # Each view is listed once: no route of the module is left unregistered under another name.
    assert len({view for _rule, _method, view in wiring.API_ROUTES}) == len(wiring.API_ROUTES)


def test_the_api_endpoints_keep_their_names_and_methods():
    app = create_app({"TESTING": True})
    rules = {(rule.endpoint, rule.rule): rule.methods for rule in app.url_map.iter_rules()
             if rule.endpoint.startswith("classroom_api.")}
    expected = {(f"classroom_api.{view}", f"/api/classes{rule}"): method for rule, method, view in wiring.API_ROUTES}
    assert set(rules) == set(expected)
    for key, method in expected.items():
        assert method in rules[key]


def test_a_lazy_view_imports_its_function_on_first_call():
    view = wiring.LazyView("os.path.join")
    assert "view" not in vars(view)
    assert view("a", "b") == "a/b"
    assert vars(view)["view"] is __import__("os").path.join
