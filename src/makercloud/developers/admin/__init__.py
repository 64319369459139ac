from makercloud.developers.admin import (
    clients,  # noqa: F401
    webhooks,  # noqa: F401
)
