"""axe-core, run inside a page of the browser tests: the accessibility problems it rates serious
or critical, one line each, so that a failing assertion says what to fix and where."""

from axe_playwright_python.sync_playwright import Axe

_AXE = Axe()  # axe-core's own script, shipped with the package: nothing is downloaded


def serious_problems(page) -> list[str]:
    results = _AXE.run(page)
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
