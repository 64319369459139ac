"""Contracts: from an award or direct, parties, targets, value-sharing rule, milestones, signatures (engineer C)."""
