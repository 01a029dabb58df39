"""The student path: ``jupyter lab`` with the course's kernel, in headless Chromium.

A JupyterLab server starts on a free local port over copies of two notebooks (so that nothing the
browser saves touches ``notebooks/``, and the numbers they record go to a scratch build folder).
For each notebook the check opens it, runs every cell from the Run menu, and asserts that no cell
shows an error, that every widget rendered (no "Error displaying widget") with the expected
number of sliders, then drags one slider of its widget and waits for the figure above the
sliders to be redrawn. Timings go to ``build/browser/lab.json``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from browser_support import REPO, unavailable

from lecture_utils.authoring import mark_slides

KERNEL, KERNEL_DISPLAY = "lecture05", "Lecture 05 (.venv)"  # registered by the Makefile's set-up
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
REPORT = REPO / "build" / "browser" / "lab.json"
#: notebook -> (a line of its widget cell, the slider to drag, sliders in the whole notebook)
CASES = {
    "01_iou_map": ("def draw_iou(", "x", 7),
    "06_unet_neural_operator": ("def draw_prediction(", "образец", 1),
}
RUN_ALL_TIMEOUT_S = 300
# JupyterLab settings for the check: every cell kept in the page (no windowing, so the DOM holds
# all outputs), no autosave, no news pop-up over the notebook
SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                        "checkForUpdates": False},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_server(url: str, process: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"jupyter lab exited with {process.returncode}:\n{log.read_text()[-3000:]}", pytrace=False)
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"jupyter lab did not answer within {timeout} s:\n{log.read_text()[-3000:]}", pytrace=False)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server over copies of the CASES notebooks; yields (base url, token, root)."""
    jupyter = Path(sys.executable).with_name("jupyter")
    spec = Path(sys.prefix) / "share" / "jupyter" / "kernels" / KERNEL / "kernel.json"
    if not spec.exists():
        unavailable(f"the course's kernel {KERNEL!r} is not registered: `make .venv/.installed` registers it")
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "notebooks"
    root.mkdir()
    for name in CASES:
        nb = nbformat.read(REPO / "notebooks" / f"{name}.ipynb", as_version=4)
        nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": KERNEL_DISPLAY, "language": "python"}
        nbformat.write(nb, root / f"{name}.ipynb")
    for path, values in SETTINGS.items():
        (tmp / "settings" / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp / "settings" / path).write_text(json.dumps(values))
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # the inline backend draws the figures
    env.update(LECTURE_ALLOW_DOWNLOAD="0", HF_HUB_OFFLINE="1", LECTURE_BUILD_DIR=str(tmp / "build"),
               JUPYTER_RUNTIME_DIR=str(tmp / "runtime"))
    port, token = free_port(), secrets.token_hex(16)
    command = [str(jupyter), "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
               f"--LabApp.user_settings_dir={tmp / 'settings'}", f"--LabApp.workspaces_dir={tmp / 'workspaces'}"]
    if os.getuid() == 0:
        command.append("--allow-root")
    log = tmp / "lab.log"
    start = time.perf_counter()
    with log.open("w") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=root)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(f"{base}/api/status?token={token}", process, log)
        timings["server_start_s"] = round(time.perf_counter() - start, 1)
        yield base, token, root
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


timings: dict = {}


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    if timings:
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        REPORT.write_text(json.dumps(timings, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


#: the notebook on screen (a restored workspace could hold others, hidden in their tabs)
NB = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"
# prompts of code cells: "[12]:" once run, "[*]:" while queued or running
PROMPTS = f"() => [...document.querySelectorAll('{NB} .jp-CodeCell .jp-InputPrompt')].map(p => p.innerText.trim())"


def run_all_cells(page) -> None:
    """Run > Run All Cells, then wait until no cell is queued or running; every cell must have run
    (after an error JupyterLab drops the queue, which leaves later cells without a number)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    try:
        page.wait_for_function(f"() => {{ const p = ({PROMPTS})(); return p.length && !p.includes('[*]:') "
                               r"&& p.some(t => /^\[\d+\]:$/.test(t)); }",
                               timeout=RUN_ALL_TIMEOUT_S * 1000, polling=1000)
    except PlaywrightTimeout:
        prompts = page.evaluate(PROMPTS)
        busy = prompts.index("[*]:") if "[*]:" in prompts else None
        text = page.locator(f"{NB} .jp-CodeCell").nth(busy).inner_text()[-1500:] if busy is not None else ""
        pytest.fail(f"Run All did not finish in {RUN_ALL_TIMEOUT_S} s; prompts {prompts}; "
                    f"code cell {busy} still running:\n{text}", pytrace=False)
    prompts = page.evaluate(PROMPTS)
    stopped = [i for i, t in enumerate(prompts) if not re.fullmatch(r"\[\d+\]:", t)]
    if stopped:
        cell = page.locator(f"{NB} .jp-CodeCell").nth(stopped[0])
        pytest.fail(f"Run All stopped: code cell {stopped[0]} did not run; the output before it:\n"
                    f"{page.locator(f'{NB} .jp-CodeCell').nth(max(stopped[0] - 1, 0)).inner_text()[-2000:]}"
                    f"\n{cell.inner_text()[:300]}", pytrace=False)


def save_notebook(page, path: Path) -> nbformat.NotebookNode:
    """Save the notebook from the browser (Ctrl+S) and read back what JupyterLab wrote."""
    before = path.stat().st_mtime_ns
    page.locator(f"{NB} .jp-InputPrompt").first.click()  # focus the notebook, command mode
    page.keyboard.press("Escape")
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 30
    while path.stat().st_mtime_ns == before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert path.stat().st_mtime_ns != before, f"JupyterLab did not save {path.name}"
    time.sleep(0.5)  # the write is done once the file stops changing
    return nbformat.read(path, as_version=4)


def widget_cell(page, marker: str):
    """The code cell whose source holds ``marker``."""
    cell = page.locator(f"{NB} .jp-CodeCell").filter(has=page.locator(".cm-content", has_text=marker))
    assert cell.count() == 1, f"expected one cell with {marker!r}, found {cell.count()}"
    return cell


def drag_slider(page, cell, label: str) -> tuple[str, str]:
    """Drag the handle of the slider called ``label`` a fifth of its track to the right; return the
    slider's readout before and after."""
    slider = cell.locator(".widget-slider").filter(has=page.locator(".widget-label", has_text=re.compile(f"^{label}$")))
    assert slider.count() == 1, f"no slider {label!r} in the widget cell"
    readout = slider.locator(".widget-readout")
    before = readout.inner_text()
    handle = slider.locator(".noUi-handle").first
    handle.scroll_into_view_if_needed()
    track = slider.locator(".noUi-target").first.bounding_box()
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + track["width"] / 5, y, steps=8)
    page.mouse.up()
    page.wait_for_function("([el, old]) => el.innerText !== old", arg=[readout.element_handle(), before], timeout=10_000)
    return before, readout.inner_text()


@pytest.mark.parametrize("name", list(CASES))
def test_notebook_runs_in_jupyterlab_and_its_widget_responds(browser, lab, name):
    base, token, root = lab
    marker, slider_label, sliders = CASES[name]
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    t0 = time.perf_counter()
    page.goto(f"{base}/lab/workspaces/{name}/tree/{name}.ipynb?reset&token={token}")  # this notebook alone
    page.locator(f"{NB} .jp-Cell").first.wait_for(timeout=90_000)
    toolbar = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-NotebookPanel-toolbar")
    toolbar.get_by_text(KERNEL_DISPLAY).wait_for(timeout=60_000)  # the course's kernel, not python3
    opened = time.perf_counter()
    run_all_cells(page)
    ran = time.perf_counter()

    # the notebook as the browser holds it, saved: no error output, and how many widget views it has
    saved = save_notebook(page, root / f"{name}.ipynb")
    outputs = [o for c in saved.cells if c.cell_type == "code" for o in c.outputs]
    failed = [o for o in outputs if o.output_type == "error"]
    assert not failed, f"{name}: {len(failed)} cells failed, the first: {failed[0].ename}: {failed[0].evalue}"
    expected_views = sum(WIDGET_VIEW in o.get("data", {}) for o in outputs)
    # ... and on the screen: no traceback, every widget view drawn as a widget
    tracebacks = page.locator(f"{NB} .jp-OutputArea-output", has_text="Traceback (most recent call last)")
    assert tracebacks.count() == 0, f"{name}: a cell shows an error:\n{tracebacks.first.inner_text()[:2000]}"
    body = page.locator(NB).inner_text()
    assert "Error displaying widget" not in body, f"{name}: a widget failed to render (ipywidgets/JupyterLab mismatch?)"
    drawn = page.locator(f"{NB} .jp-OutputArea-output").filter(has=page.locator(".jupyter-widgets"))
    assert expected_views >= 1 and drawn.count() == expected_views, \
        f"{name}: {drawn.count()} of {expected_views} widget views drawn"
    assert page.locator(f"{NB} .widget-slider").count() == sliders

    # the widget redraws its figure when a slider moves
    cell = widget_cell(page, marker)
    image = cell.locator(".jp-OutputArea-output[data-mime-type='image/png'] img")
    assert image.count() == 1, f"{name}: the widget cell shows {image.count()} figures, expected its default one"
    old = image.get_attribute("src")
    before, after = drag_slider(page, cell, slider_label)
    moved = time.perf_counter()
    # the output is replaced through its display id: look the picture up afresh each time
    page.wait_for_function("([cell, old]) => { const img = cell.querySelector("
                           "\".jp-OutputArea-output[data-mime-type='image/png'] img\"); return img && img.src !== old; }",
                           arg=[cell.element_handle(), old], timeout=60_000)
    redrawn = time.perf_counter()
    assert image.get_attribute("src") != old
    assert not errors, f"{name}: JavaScript errors in JupyterLab: {errors[:3]}"
    timings[name] = {"open_s": round(opened - t0, 1), "run_all_s": round(ran - opened, 1),
                     "redraw_s": round(redrawn - moved, 2), "slider": slider_label, "value": [before, after]}
    page.close()


def expected_slides(nb) -> list[int]:
    """Sub-slides per slide (the slide itself included), as the notebook's slide marks describe them."""
    counts: list[int] = []
    for cell in nb.cells:
        kind = cell.metadata.get("slideshow", {}).get("slide_type", "-")
        if kind == "slide" or not counts:
            counts.append(1)
        elif kind == "subslide":
            counts[-1] += 1
    return counts


def test_rise_presents_the_committed_slides(browser, lab):
    base, token, root = lab
    nb = nbformat.read(REPO / "notebooks" / "01_iou_map.ipynb", as_version=4)
    committed = [c.metadata.get("slideshow", {}).get("slide_type") for c in nb.cells]
    mark_slides(nb)
    assert committed == [c.metadata["slideshow"]["slide_type"] for c in nb.cells]
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    remote: list[str] = []
    page.on("request", lambda r: remote.append(r.url) if not r.url.startswith((base, "data:", "blob:")) else None)
    t0 = time.perf_counter()
    page.goto(f"{base}/rise/01_iou_map.ipynb?token={token}")
    page.locator(".reveal .slides > section").first.wait_for(timeout=90_000)
    page.wait_for_function("n => document.querySelectorAll('.reveal .slides > section').length === n",
                           arg=len(expected_slides(nb)), timeout=30_000)
    shown = page.evaluate("() => [...document.querySelectorAll('.reveal .slides > section')]"
                          ".map(s => Math.max(1, s.querySelectorAll(':scope > section').length))")
    assert shown == expected_slides(nb)
    skipped = page.locator(".reveal .jp-Cell.reveal-skip")
    assert skipped.count() == sum(k == "skip" for k in committed)
    assert all(not el.is_visible() for el in skipped.all())
    assert "DEVICE = setup(" not in page.locator(".reveal").inner_text()
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=REPORT.parent / "rise_01_iou_map.png")
    timings["rise_open_s"] = round(time.perf_counter() - t0, 1)
    assert not remote, f"RISE fetched from the network: {remote[:3]}"
    page.close()
