"""The split language of value-sharing rules: parse (`rule_parse`), then share an amount (`allocate`)."""

from makercloud.ledger.rules.allocation import Allocation, Context, Member, Share, Step, allocate, seed_of
from makercloud.ledger.rules.language import PARTIES, SETS, Rule, content_hash, rule_parse

__all__ = ["PARTIES", "SETS", "Allocation", "Context", "Member", "Rule", "Share", "Step", "allocate",
           "content_hash", "rule_parse", "seed_of"]
