from makercloud.calls.admin import (
    engine,  # noqa: F401
    kinds,  # noqa: F401
)
