"""The blind judging page in a real headless Chromium: the shown answers, a click on A, the recorded choice."""

from __future__ import annotations

import json
import time

import pytest

from _loopback import CHROMIUM, DRIVER, chromium
pytestmark = [
    pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="needs the chromium and chromium-driver packages "
                       "(apt-get install chromium chromium-driver)"),
]
gr = pytest.importorskip("gradio", reason="needs the webui extra (gradio)")
webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium")

PAIRS = [
    {"id": "q1", "prompt": "Translate: good morning", "answers": {"base": "bonjour matin", "sft": "早安"}},
    {"id": "q2", "prompt": "Name a colour", "answers": {"base": "blue", "sft": "紅色"}},
    {"id": "q3", "prompt": "Count to three", "answers": {"base": "1 2 3", "sft": "一二三"}},
]


def test_shown_order_is_stable_and_mixed():
    from langadapt.serve.judge_ui import shown_order

    items = [{"id": str(i), "answers": {"base": "", "sft": ""}} for i in range(40)]
    orders = [shown_order(p, seed=0) for p in items]
    assert orders == [shown_order(p, seed=0) for p in items]
    assert 5 < sum(o[0] == "sft" for o in orders) < 35  # both orders occur
    assert orders != [shown_order(p, seed=1) for p in items]


@pytest.fixture()
def page(tmp_path):
    from langadapt.serve.judge_ui import build_judge_app
    from langadapt.serve.server import free_port

    out = tmp_path / "choices.jsonl"
    demo = build_judge_app(PAIRS, out, seed=7)
    port = free_port()
    demo.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/", out
    demo.close()


@pytest.fixture()
def browser():
    with chromium() as driver:
        yield driver


def _wait(predicate, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the page")


def _text(driver, elem_id: str) -> str:
    found = driver.find_elements("id", elem_id)  # empty until Gradio has rendered the page
    return found[0].text.strip() if found else ""


def test_blind_page_records_a_choice(page, browser):
    from langadapt.serve.judge_ui import shown_order

    url, out = page
    browser.get(url)
    _wait(lambda: "Translate: good morning" in _text(browser, "prompt"))
    first_a, first_b = shown_order(PAIRS[0], seed=7)
    assert _text(browser, "answer-a") == PAIRS[0]["answers"][first_a]
    assert _text(browser, "answer-b") == PAIRS[0]["answers"][first_b]
    assert "sft" not in browser.find_element("tag name", "body").text.split("Answer A")[1]  # names stay hidden

    browser.find_element("css selector", "#reason textarea").send_keys("more fluent")
    browser.find_element("id", "choose-a").click()
    _wait(lambda: "Name a colour" in _text(browser, "prompt"))
    assert "1 of 3 judged" in _text(browser, "progress")
    browser.find_element("id", "choose-tie").click()
    _wait(lambda: "Count to three" in _text(browser, "prompt"))

    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["q1", "q2"]
    assert rows[0]["choice"] == "A" and rows[0]["winner"] == first_a and rows[0]["reason"] == "more fluent"
    assert rows[0]["shown"] == {"A": first_a, "B": first_b} and rows[0]["models"] == ["base", "sft"]
    assert rows[1]["winner"] == "tie" and rows[1]["reason"] == ""
