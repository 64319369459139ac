"""The demo world: an operator, ventures with makers, suppliers and users. Seeding it twice changes nothing."""
from collections.abc import Callable


def seed(*, say: Callable[[str], None] = print) -> None:
    say("Demo world: nothing to seed yet.")
