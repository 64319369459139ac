"""The demo world's automations and scenes (called by web.demo.seed; idempotent: each is looked up by name first).

Zhao Lei's washers tell him when the family wash is done and start a quick wash with one tap; María García's air
conditioners cool the bedroom when the living room gets hot, boost on weekday mornings, and have a sleep scene.
"""

from typing import Any

from makercloud.accounts.models import User
from makercloud.automations import services
from makercloud.automations.models import Automation, Scene
from makercloud.devices.models import Device


def _device(person: User, name: str) -> Device | None:
    return Device.objects.filter(owner=person, name=name).first()


def _automation(person: User, name: str, trigger: dict[str, Any], actions: list[dict[str, Any]]) -> int:
    if Automation.objects.filter(owner=person, name=name).exists():
        return 0
    services.automation_create(actor=person, name=name, trigger=trigger, actions=actions)
    return 1


def _scene(person: User, name: str, actions: list[dict[str, Any]]) -> int:
    if Scene.objects.filter(owner=person, name=name).exists():
        return 0
    services.scene_create(actor=person, name=name, actions=actions)
    return 1


def seed(*, people: dict[str, User]) -> int:
    """Returns how many automations and scenes were added."""
    added = 0
    zhao, maria = people.get("zhao.lei"), people.get("maria.garcia")
    if zhao is not None:
        family, studio = _device(zhao, "Family washer"), _device(zhao, "Studio washer")
        if family is not None:
            added += _automation(zhao, "Tell me when the family wash is done",
                                 {"kind": "event", "device": family.pk, "event": "cycleFinished"},
                                 [{"kind": "notify", "title": "The family wash is done",
                                   "body": "Time to hang it up."}])
        if studio is not None:
            added += _scene(zhao, "Quick wash", [
                {"kind": "invoke", "device": studio.pk, "action": "start", "input": {"programme": "quick"}},
                {"kind": "notify", "title": "A quick wash has started"},
            ])
    if maria is not None:
        bedroom = _device(maria, "Bedroom air conditioner")
        living = _device(maria, "Living-room air conditioner")
        if bedroom is not None and living is not None:
            added += _automation(
                maria, "Cool the bedroom when the living room gets hot",
                {"kind": "threshold", "device": living.pk, "property": "roomTemperature", "direction": "above",
                 "threshold": 28, "hysteresis": 1},
                [{"kind": "set_desired", "device": bedroom.pk, "state": {"targetTemperature": 24, "fan": "auto"}},
                 {"kind": "notify", "title": "The living room passed 28 °C",
                  "body": "The bedroom is being cooled to 24 °C."}],
            )
            added += _automation(
                maria, "Weekday mornings: a fresh living room",
                {"kind": "schedule", "time": "07:00", "weekdays": ["mon", "tue", "wed", "thu", "fri"],
                 "timezone": "Asia/Shanghai"},
                [{"kind": "invoke", "device": living.pk, "action": "boost", "input": {"minutes": 15}}],
            )
            added += _scene(maria, "Sleep", [
                {"kind": "set_desired", "device": bedroom.pk, "state": {"targetTemperature": 26, "fan": "low"}},
                {"kind": "set_desired", "device": living.pk, "state": {"fan": "low"}},
            ])
    return added
