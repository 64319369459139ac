"""Bench-only settings: the embedded default, plus a bare JSON view in its own urlconf (never in the product)."""

from makercloud.config.settings.default import *  # noqa: F403

ROOT_URLCONF = "twin_bench_urls"
