"""The HTTP API under /api/v1: one NinjaAPI, one router per bounded context."""

from ninja import NinjaAPI

from makercloud.accounts.api import router as accounts_router
from makercloud.core import problems

api = NinjaAPI(
    title="makercloud API",
    version="1",
    description=(
        "The open API of makercloud. Authenticate with a browser session or a bearer token "
        "(`Authorization: Bearer mc_pat_…`). Errors are RFC 9457 problem details; money is integer minor units; "
        "lists are cursor-paginated with `limit` and `cursor`."
    ),
    urls_namespace="api",
)
problems.install(api)
api.add_router("", accounts_router)
