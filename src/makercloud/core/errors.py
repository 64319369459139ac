"""Domain errors. Each has a stable `type` slug; the API turns them into RFC 9457 problem details."""

from typing import Any, ClassVar


class DomainError(Exception):
    type: ClassVar[str] = "domain-error"
    title: ClassVar[str] = "The request cannot be carried out"
    status: ClassVar[int] = 400

    def __init__(self, detail: str = "", **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class NotFound(DomainError):
    type = "not-found"
    title = "Not found"
    status = 404


class PermissionDenied(DomainError):
    type = "permission-denied"
    title = "You may not do this"
    status = 403


class Conflict(DomainError):
    type = "conflict"
    title = "This conflicts with the current state"
    status = 409


class InvalidInput(DomainError):
    type = "invalid-input"
    title = "The input is not valid"
    status = 422
