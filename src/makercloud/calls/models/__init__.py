"""The models of calls, one module per sub-domain."""

from makercloud.calls.models.engine import *  # noqa: F403
from makercloud.calls.models.kinds import *  # noqa: F403
