"""`trmlab demo`: the page's content (no browser needed), and the page itself in a real
headless Chromium (Debian's, driven by Selenium with Debian's chromedriver), compared with
`trmlab solve` on the same model."""
import os
import re
import shutil
import socket
from pathlib import Path

import pytest

from trmlab.cli import main
from trmlab.demo import Demo
from trmlab.evaluation.think import think
from trmlab.tasks.grid.base import render

QUESTION = "Ann has 3 pens. She buys 2 more. How many pens does Ann have?"
ROW = re.compile(r'<td class="answer" data-answer="([^"]*)">.*?<td class="halt">([\d.]+)</td>')


def solve_steps(capsys, source, question, steps) -> list[tuple[str, str]]:
    """(answer, halt probability) per step, as `trmlab solve` prints them."""
    assert main(["solve", str(source), question, "--steps", str(steps)]) == 0
    found = re.findall(r"step +\d+: (.*?)(?:   \(unfinished[^)]*\))?   halt probability ([\d.]+)", capsys.readouterr().out)
    return [("" if answer == "(empty)" else answer, halt) for answer, halt in found]


@pytest.fixture(scope="module")
def text_demo(exported_reasoner):
    return Demo(str(exported_reasoner[1]))


def test_page_shows_the_numbers_of_solve(text_demo, exported_reasoner, capsys):
    page, plot = text_demo.answer(QUESTION, 7)  # more steps than the 3 trained
    assert ROW.findall(page) == solve_steps(capsys, exported_reasoner[0], QUESTION, 7)
    thinking = think(text_demo.model, text_demo.cfg, text_demo.tokenizer, QUESTION, 7)
    stop = thinking.halt_step
    assert (f"would stop at step {stop}" if stop else "would not stop within 7 step(s)") in page
    assert list(plot.axes[0].lines[0].get_ydata()) == [s.halt_prob for s in thinking.steps]
    assert text_demo.max_steps > text_demo.trained_steps
    held_out, answer = next(iter(text_demo.examples.values()))  # the page's pick of test questions
    page, _ = text_demo.answer(held_out, 4)
    assert f"its answer: <code>{answer}</code>" in page and page.count(" ✓") + page.count(" ✗") == 4


@pytest.mark.parametrize("question, message", [
    ("", "the question is empty"), ("   ", "the question is empty"),
    ("x" * 300, "the question has 300 tokens; this model reads at most 256"),
    ("Ann has 3 pens€", "does not know the character(s) &#x27;€&#x27;"),
])
def test_bad_question_is_a_message_in_the_page(text_demo, question, message):
    page, plot = text_demo.answer(question, 3)
    assert page.startswith('<div id="trm-error"') and message in page and plot is None


def test_grid_page_marks_wrong_cells_of_a_held_out_board(grid_checkpoint):
    demo = Demo(str(grid_checkpoint))
    rows, cols = demo.shape
    question, answer = next(iter(demo.examples.values()))
    pasted = "\n".join(render(question, cols)) + "\n"  # as the example picker fills the box
    page, _ = demo.answer(pasted, 5)
    boards = re.findall(r'<figure class="trm-board[^"]*" data-step="(\d+)" data-wrong="(\d+)"><table>(.*?)</table>', page)
    thinking = think(demo.model, demo.cfg, demo.tokenizer, question, 5)
    assert [int(step) for step, _, _ in boards] == [1, 2, 3, 4, 5]
    for (_, wrong, table), step in zip(boards, thinking.steps):
        assert int(wrong) == sum(a != b for a, b in zip(step.answer, answer)) == table.count("wrong")
        assert table.count("<td") == rows * cols
    page, _ = demo.answer(question[::-1], 2)  # a board that is not in the held-out set
    assert "no solution is known" in page and 'class="wrong"' not in page
    for bad, message in [(question[:-1], "a board has 16 cells (4x4, row-major); got 15"),
                         (question[:-1] + "x", "does not know the character(s) &#x27;x&#x27;")]:
        page, _ = demo.answer(bad, 2)
        assert 'id="trm-error"' in page and message in page


def test_app_builds_without_a_browser(text_demo):
    pytest.importorskip("gradio")
    from trmlab.demo import build_app
    app = build_app(text_demo)
    assert {"trm-question", "trm-think", "trm-result"} <= {b.elem_id for b in app.blocks.values()}


def test_demo_without_gradio_names_the_extra(monkeypatch, capsys, exported_reasoner):
    import builtins
    real_import = builtins.__import__

    def no_gradio(name, *args, **kw):
        if name == "gradio":
            raise ImportError("No module named 'gradio'")
        return real_import(name, *args, **kw)
    monkeypatch.setattr(builtins, "__import__", no_gradio)
    assert main(["demo", str(exported_reasoner[1])]) == 2
    assert "pip install 'trmlab[demo]'" in capsys.readouterr().err


# ---------------------------------------------------------------- in a real browser
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def browser():
    pytest.importorskip("gradio")
    webdriver = pytest.importorskip("selenium.webdriver")
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("no system Chromium: apt-get install chromium chromium-driver (.ci/run does)")
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1200,1300"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))  # the system driver: nothing downloaded
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def test_demo_in_a_real_browser_matches_solve(browser, exported_reasoner, tmp_path, capsys):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    from trmlab.demo import launch
    app, url = launch(str(exported_reasoner[1]), port=free_port(), block=False)
    try:
        browser.get(url)
        wait = WebDriverWait(browser, 60)
        box = wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, "#trm-question textarea")))
        steps = browser.find_element(By.CSS_SELECTOR, "#trm-steps-slider input[type=number]")
        steps.clear()
        steps.send_keys("7\t")  # more steps than the 3 trained
        box.send_keys(QUESTION)
        browser.find_element(By.CSS_SELECTOR, "#trm-think").click()
        rows = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#trm-steps tbody tr") or False)
        shown = [(r.find_element(By.CSS_SELECTOR, "td.answer").get_attribute("data-answer"),
                  r.find_element(By.CSS_SELECTOR, "td.halt").text) for r in rows]
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#trm-plot img, #trm-plot svg, #trm-plot canvas")))
        screenshot = tmp_path / "demo.png"
        browser.save_screenshot(str(screenshot))
        assert shown == solve_steps(capsys, exported_reasoner[0], QUESTION, 7)

        box.clear()
        box.send_keys("Ann has 3 pens€")
        browser.find_element(By.CSS_SELECTOR, "#trm-think").click()
        error = wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#trm-error")))
        assert "does not know the character(s) '€'" in error.text
        assert "Traceback" not in browser.page_source
    finally:
        app.close()
    if os.environ.get("TRMLAB_ARTIFACTS"):  # CI keeps the screenshot
        Path(os.environ["TRMLAB_ARTIFACTS"]).mkdir(parents=True, exist_ok=True)
        shutil.copy(screenshot, Path(os.environ["TRMLAB_ARTIFACTS"]) / "demo.png")
