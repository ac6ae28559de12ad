"""axe-core in a real page: inject the npm package's `axe.min.js` (installed by
`make test`, never fetched from a CDN) into a Playwright page or frame and run
it; the browser tests fail on any critical or serious violation.

    violations = audit(page)            # or audit(frame) for the widget inside a host page
    assert not blocking(violations), describe(violations)

Run directly to print the violation counts of a running tutor (full page and
widget, each mode): `python tests/axe_audit.py http://127.0.0.1:7860`.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BLOCKING = ("critical", "serious")


def axe_js_path() -> Path:
    """`AXE_CORE_JS`, else `node_modules/axe-core/axe.min.js` in the repository."""
    env = os.environ.get("AXE_CORE_JS")
    path = Path(env) if env else REPO / "node_modules" / "axe-core" / "axe.min.js"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing; install axe-core with `make test` "
            "(npm install --no-save --no-package-lock axe-core)"
        )
    return path


def audit(target, exclude: tuple[str, ...] = ()) -> list[dict]:
    """axe-core's violations on a Playwright Page or Frame, each
    {"id", "impact", "help", "nodes": [target selectors]}."""
    if not target.evaluate("() => typeof window.axe !== 'undefined'"):
        target.add_script_tag(content=axe_js_path().read_text(encoding="utf-8"))
    result = target.evaluate(
        """async (exclude) => {
            const context = exclude.length ? {exclude: exclude.map(s => [s])} : document;
            const r = await axe.run(context, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                           nodes: v.nodes.map(n => n.target.join(' '))}));
        }""",
        list(exclude),
    )
    return list(result)


def blocking(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in BLOCKING]


def describe(violations: list[dict]) -> str:
    return "; ".join(f"{v['impact']} {v['id']} ({len(v['nodes'])}: {', '.join(v['nodes'][:3])})"
                     for v in violations)


def counts(violations: list[dict]) -> dict[str, int]:
    """Number of violated rules and of failing nodes per impact."""
    out: dict[str, int] = {}
    for v in violations:
        out[v["impact"]] = out.get(v["impact"], 0) + 1
        out[f"{v['impact']} nodes"] = out.get(f"{v['impact']} nodes", 0) + len(v["nodes"])
    return out


def _main(url: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run"])
        for path, size in (("/", (1280, 800)), ("/widget/", (440, 720))):
            for mode in ("explain", "socratic", "quiz"):
                context = browser.new_context(viewport={"width": size[0], "height": size[1]})
                page = context.new_page()
                page.goto(f"{url.rstrip('/')}{path}?mode={mode}")
                page.locator("#tutor-message textarea").wait_for()
                page.wait_for_function(
                    "() => !document.querySelector('#tutor-message textarea').disabled", timeout=20_000)
                if path == "/" and mode != "explain":
                    page.locator("#tutor-mode").get_by_text(mode.capitalize(), exact=True).click()
                    page.wait_for_timeout(1500)
                if mode == "explain":  # an answer with citations, footnotes and sources
                    box = page.locator("#tutor-message textarea")
                    box.fill("What does Kotter say management copes with?")
                    box.press("Enter")
                    page.locator('[data-testid="bot"]').last.filter(has_text="complexity").wait_for()
                    page.wait_for_timeout(1000)
                for drawer in page.locator(".tutor-drawer > button, #tutor-sources-drawer > button, "
                                           "#tutor-progress-drawer > button").all():
                    if drawer.is_visible():
                        drawer.click()
                page.wait_for_timeout(500)
                found = audit(page)
                print(f"{path:9} {mode:9} {counts(found)}  {describe(found)}")
                context.close()
        browser.close()


if __name__ == "__main__":
    import sys

    _main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:7860")
