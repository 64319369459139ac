from makercloud.core.errors import NotFound


class VentureNotFound(NotFound):
    type = "venture-not-found"
    title = "No such venture"
