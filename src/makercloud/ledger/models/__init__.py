"""The models of ledger, one module per sub-domain."""

from makercloud.ledger.models.journal import *  # noqa: F403
from makercloud.ledger.models.rules import *  # noqa: F403
from makercloud.ledger.models.statements import *  # noqa: F403
