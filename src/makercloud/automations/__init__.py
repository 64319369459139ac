"""Scenes and automations across devices of different ventures (issue 4)."""
