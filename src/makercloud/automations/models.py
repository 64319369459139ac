"""Scenes, automations and their runs."""
