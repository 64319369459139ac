"""The models of developers, one module per sub-domain."""

from makercloud.developers.models.clients import *  # noqa: F403
from makercloud.developers.models.webhooks import *  # noqa: F403
