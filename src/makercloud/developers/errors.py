"""Domain errors of developers. Each has a stable `type` slug; the API turns them into RFC 9457 problem details."""

from makercloud.core.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied

# Apps, review, grants (clients) ---------------------------------------------------------------------------------


class AppNotFound(NotFound):
    type = "app-not-found"
    title = "No such app"


class GrantNotFound(NotFound):
    type = "grant-not-found"
    title = "No such grant"


class NotAppMaker(PermissionDenied):
    type = "not-app-maker"
    title = "Only the owners and admins of the app's venture may do this"


class InvalidApp(InvalidInput):
    type = "invalid-app"
    title = "The app's registration is not valid"


class AppNotReviewable(Conflict):
    type = "app-not-reviewable"
    title = "The app is not in a state that allows this"


class AppNotAuthorisable(PermissionDenied):
    type = "app-not-authorisable"
    title = "This app cannot be authorised by you"


class InvalidConsent(InvalidInput):
    type = "invalid-consent"
    title = "The consent is not valid"


class RateLimited(DomainError):
    """Too many requests with an app's token. `retry_after` (seconds) becomes the Retry-After header."""

    type = "rate-limited"
    title = "Too many requests"
    status = 429

    def __init__(self, detail: str = "", *, retry_after: int, limit: str) -> None:
        super().__init__(detail, retry_after=retry_after, limit=limit)
        self.retry_after = retry_after


# Webhooks (W) ----------------------------------------------------------------------------------------------------


class WebhookEndpointNotFound(NotFound):
    type = "webhook-endpoint-not-found"
    title = "No such webhook endpoint"


class DeliveryNotFound(NotFound):
    type = "delivery-not-found"
    title = "No such webhook delivery"


class InvalidWebhookEndpoint(InvalidInput):
    """A webhook URL or event-type list that makercloud refuses; `field` names which."""

    type = "invalid-webhook-endpoint"
    title = "The webhook endpoint is not valid"


class NotReplayable(Conflict):
    type = "delivery-not-replayable"
    title = "The delivery is still pending or being sent; replay it once it has finished"
