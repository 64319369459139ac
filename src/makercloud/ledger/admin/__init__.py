from makercloud.ledger.admin import (
    journal,  # noqa: F401
    rules,  # noqa: F401
    statements,  # noqa: F401
)
