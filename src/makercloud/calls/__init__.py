"""Open calls: one fair mechanism for ideas, challenges, sourcing, roles and funding (issue 6).

The engine (lifecycle, deadlines, rule freezing, Q&A, complaints, supplier qualification) is in the `engine` modules;
the five kinds' eligibility, response forms and selection are in `kinds` (calls.kinds.registry).
"""
