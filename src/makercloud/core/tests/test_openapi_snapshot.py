"""The OpenAPI document is a reviewed artifact: docs/openapi.json must be what the code generates."""

import difflib
import json
from pathlib import Path
from typing import Any

from ninja.responses import NinjaJSONEncoder

from makercloud.config.api import api

SNAPSHOT = Path(__file__).resolve().parents[4] / "docs" / "openapi.json"
REGENERATE = (
    ".venv/bin/makercloud manage export_openapi_schema --api makercloud.config.api.api "
    "--output docs/openapi.json --indent 2 --sorted"
)


def generated() -> dict[str, Any]:
    return json.loads(json.dumps(api.get_openapi_schema(), cls=NinjaJSONEncoder))


def test_the_committed_openapi_document_is_up_to_date() -> None:
    assert SNAPSHOT.exists(), f"docs/openapi.json is missing. Create it with:\n  {REGENERATE}"
    committed = json.loads(SNAPSHOT.read_text())
    current = generated()
    if committed != current:
        diff = difflib.unified_diff(
            json.dumps(committed, indent=2, sort_keys=True).splitlines(),
            json.dumps(current, indent=2, sort_keys=True).splitlines(),
            "docs/openapi.json (committed)", "generated", lineterm="", n=2,
        )
        shown = "\n".join(list(diff)[:80])
        raise AssertionError(
            "The API changed but docs/openapi.json did not. If the change is intended, review it and regenerate "
            f"the snapshot (from the repository root):\n  {REGENERATE}\n\n{shown}"
        )
