"""Screenshots of the main pages against `makercloud up --demo`, in English and Chinese.

    .venv/bin/python tests/browser/screenshots.py [OUT_DIR]

Writes docs/screenshot.png (the landing page with the demo world, 1280x800, full page) and, in OUT_DIR
(default test-artifacts/screenshots), each page in both languages, to look at before a change ships.
"""

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.platform import running_platform  # noqa: E402

DEMO_PASSWORD = "rendanheyi-2026"
PAGES = [
    ("landing", None, "/"),
    ("sign-up", None, "/accounts/signup/"),
    ("ventures", None, "/ventures/"),
    ("venture", "li.wei", "/ventures/laundry-lab/"),
    ("dashboard-maker", "li.wei", "/dashboard/"),
    ("dashboard-operator", "operator", "/dashboard/"),
    ("dashboard-supplier", "sofia.rossi", "/dashboard/"),
    ("tokens", "li.wei", "/accounts/tokens/"),
    ("timeline", "operator", "/timeline/"),
]


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="makercloud-shots-") as data_dir,
        running_platform(Path(data_dir), demo=True, embedded_only=True) as platform,
    ):
        url = platform.url
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            landing = browser.new_page(base_url=url, viewport={"width": 1280, "height": 800})
            landing.goto("/")
            (REPO / "docs").mkdir(exist_ok=True)
            landing.screenshot(path=str(REPO / "docs" / "screenshot.png"), full_page=True)
            for language in ("en", "zh-hans"):
                for width, suffix in ((1280, ""), (390, "-phone")):
                    context = browser.new_context(base_url=url, viewport={"width": width, "height": 800},
                                                  locale="zh-CN" if language != "en" else "en-GB",
                                                  extra_http_headers={"Accept-Language": language})
                    page = context.new_page()
                    signed_in_as = None
                    for name, person, path in PAGES:
                        if person != signed_in_as:
                            context.clear_cookies()
                            if person:
                                page.goto("/accounts/login/")
                                page.fill("input[name=username]", f"{person}@demo.makercloud.local")
                                page.fill("input[name=password]", DEMO_PASSWORD)
                                page.click("main button[type=submit]")
                                page.wait_for_url("**/dashboard/")
                            signed_in_as = person
                        page.goto(path)
                        page.screenshot(path=str(out / f"{name}-{language}{suffix}.png"), full_page=True)
                    context.close()
            browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "test-artifacts" / "screenshots")
