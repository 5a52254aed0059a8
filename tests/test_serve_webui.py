"""The Gradio page in a real headless Chromium: send a message, read the streamed answer."""

from __future__ import annotations

import time

import pytest

from langadapt.config.generation import GenerationConfig

from _loopback import CHROMIUM, DRIVER, chromium
pytestmark = [
    pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="needs the chromium and chromium-driver packages "
                       "(apt-get install chromium chromium-driver)"),
]
gr = pytest.importorskip("gradio", reason="needs the webui extra (gradio)")
webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium")


@pytest.fixture(scope="module")
def page(tiny_model_dir):
    from langadapt.serve.loading import start_engine
    from langadapt.serve.server import free_port
    from langadapt.serve.webui import build_app

    first = start_engine(str(tiny_model_dir))
    second = start_engine(str(tiny_model_dir))
    demo = build_app({"tiny": first, "tiny-b": second}, GenerationConfig(max_new_tokens=12, temperature=1.0, top_k=0, top_p=1.0, seed=123))
    port = free_port()
    demo.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/", first
    demo.close()
    first.shutdown()
    second.shutdown()


@pytest.fixture(scope="module")
def browser():
    with chromium() as driver:
        yield driver


def _bot_texts(driver, elem_id: str) -> list[str]:
    from selenium.webdriver.common.by import By

    root = driver.find_element(By.ID, elem_id)
    return [e.text for e in root.find_elements(By.CSS_SELECTOR, ".message.bot, [data-testid='bot']") if e.text.strip()]


def _send(driver, elem_id: str, text: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    box = driver.find_element(By.CSS_SELECTOR, f"#{elem_id} textarea")
    box.click()
    box.send_keys(text)
    box.send_keys(Keys.ENTER)


def _wait(predicate, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the page")


def test_chat_page_streams_an_answer(page, browser):
    url, engine = page
    browser.get(url)
    _wait(lambda: browser.find_elements("css selector", "#message textarea"))
    _send(browser, "message", "Hello from the browser")
    texts = _wait(lambda: _bot_texts(browser, "chatbot"))
    assert texts[0].strip()
    user = browser.find_element("id", "chatbot").text
    assert "Hello from the browser" in user
    _wait(lambda: engine.num_active == 0)


def test_side_by_side_answers_from_both_models(page, browser):
    from selenium.webdriver.common.by import By

    url, _ = page
    browser.get(url)
    _wait(lambda: browser.find_elements(By.CSS_SELECTOR, "button[role='tab']"))
    tab = [b for b in browser.find_elements(By.CSS_SELECTOR, "button[role='tab']") if "Side by side" in b.text][0]
    tab.click()
    _wait(lambda: browser.find_elements(By.CSS_SELECTOR, "#both textarea"))
    _send(browser, "both", "Same prompt for two")
    left = _wait(lambda: _bot_texts(browser, "left"))
    right = _wait(lambda: _bot_texts(browser, "right"))
    assert left[0].strip() and right[0].strip()
    # Same weights and the same seed: the two answers must agree.
    _wait(lambda: _bot_texts(browser, "left") == _bot_texts(browser, "right"), timeout=30)
