"""The SDK's one exception for refused calls: an RFC 9457 problem (or an OAuth error mapped onto one)."""

from typing import Any

PROBLEM_BASE = "https://makercloud.dev/problems/"
OAUTH_ERROR_BASE = "urn:ietf:params:oauth:error:"


class ApiError(Exception):
    """The platform refused a call. Branch on `code` (or the full `type`); `title` and `detail` are for people.

    `problem` is the whole problem document, with any extra members (`errors` for validation, `scope` for a missing
    scope, `limit` for a rate limit). `retry_after` is the server's Retry-After in seconds, when it sent one.
    """

    def __init__(
        self,
        *,
        type: str,
        title: str,
        status: int,
        detail: str = "",
        problem: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.type = type
        self.title = title
        self.status = status
        self.detail = detail or title
        self.problem: dict[str, Any] = problem or {"type": type, "title": title, "status": status, "detail": detail}
        self.retry_after = retry_after
        super().__init__(f"{status} {self.code}: {self.detail}")

    @property
    def code(self) -> str:
        """The stable short name: `invalid-token`, `not-found`, `rate-limited`, … (`invalid_grant` for OAuth)."""
        for base in (PROBLEM_BASE, OAUTH_ERROR_BASE):
            if self.type.startswith(base):
                return self.type[len(base) :]
        return self.type.rsplit("/", 1)[-1]

    @property
    def errors(self) -> list[dict[str, Any]]:
        """Validation errors, each `{loc, msg}` (empty for other problems)."""
        found = self.problem.get("errors")
        return list(found) if isinstance(found, list) else []

    @classmethod
    def from_response(cls, status: int, body: Any, *, retry_after: float | None = None, reason: str = "") -> "ApiError":
        """A problem document as it is; an OAuth error (`{"error", "error_description"}`) as a problem of type
        `urn:ietf:params:oauth:error:<error>`; anything else as an `about:blank` problem of the status."""
        if isinstance(body, dict) and isinstance(body.get("type"), str) and "title" in body:
            return cls(
                type=body["type"], title=str(body["title"]), status=int(body.get("status") or status),
                detail=str(body.get("detail") or ""), problem=body, retry_after=retry_after,
            )
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            error = body["error"]
            detail = str(body.get("error_description") or "")
            problem = {"type": OAUTH_ERROR_BASE + error, "title": error, "status": status, "detail": detail or error,
                       **body}
            return cls(type=OAUTH_ERROR_BASE + error, title=error, status=status, detail=detail, problem=problem,
                       retry_after=retry_after)
        title = reason or f"HTTP {status}"
        return cls(type="about:blank", title=title, status=status, detail=title, retry_after=retry_after)
