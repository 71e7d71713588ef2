"""The report in a real headless Chromium: no console error, every chart drawn, a screenshot saved."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, copy_project, run

pytestmark = pytest.mark.e2e

CHART_TITLES = ["Risk per factor", "Risk vs severity per perturbation", "Clean mAP vs overall risk",
                "Augmentation audit: risk change vs baseline", "Risk by class and by object size"]
SCREENSHOT = ROOT / "results" / "test-artifacts" / "report.png"


def _browser():
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("Debian packages chromium and chromium-driver are not installed (make test installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--window-size=1400,2000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=options)


def test_report_renders_in_chromium(snakemake_run, tmp_path):
    """On the tiny run re-scored label-free at a low confidence: the tiny models' few weak boxes
    become references, so risks, breaking points and the audit's rows are not all empty."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    project = copy_project(snakemake_run, tmp_path / "p")
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["score"].update(reference="predictions", conf=0.001)
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["snakemake", "--cores", "2"], project)
    page = project / "results/report/index.html"
    browser = _browser()
    try:
        browser.get(page.as_uri())
        WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#vis svg"))
        svg_text = {e.text for e in browser.find_elements(By.CSS_SELECTOR, "#vis svg text")}
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]  # console errors
        images = browser.find_elements(By.CSS_SELECTOR, ".gallery img")
        loaded = browser.execute_script(
            "return [...document.querySelectorAll('.gallery img')].every(i => i.complete && i.naturalWidth > 0)")
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        browser.set_window_size(1400, browser.execute_script("return document.body.scrollHeight"))
        assert browser.save_screenshot(str(SCREENSHOT))
    finally:
        browser.quit()
    assert errors == []
    missing = [t for t in CHART_TITLES if t not in svg_text]
    assert missing == [], f"charts not drawn: {missing}"
    assert images and loaded, "failure gallery images did not load"
    assert SCREENSHOT.stat().st_size > 10_000
    assert Path(page).read_text().count("<table") >= 3
