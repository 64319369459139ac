"""Fixtures of the automation tests: a person whose home holds devices of two ventures (a lamp and a thermostat),
and the real brokers, gateway and committed database of the devices and gateway tests."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from django.db import transaction
from django.test import TestCase
from django.utils import timezone

from makercloud.accounts.models import User
from makercloud.automations import matching
from makercloud.devices import services as device_services
from makercloud.devices import signals
from makercloud.devices.models import Device
from makercloud.devices.tests.conftest import LAMP, broker, listen  # noqa: F401 — fixtures
from makercloud.gateway.tests.conftest import THERMOSTAT, run_gateway, start_mosquitto  # noqa: F401 — fixtures
from makercloud.ventures import services as ventures_services


@dataclass
class Home:
    person: User
    lamp: Device  # of the venture "Bright Home"
    thermostat: Device  # of the venture "Warm Homes"
    lamp_secret: str
    thermostat_secret: str


def _venture_device(maker: User, name: str, document: dict[str, Any], device_name: str) -> tuple[Device, str, str]:
    venture = ventures_services.venture_found(actor=maker, name=name, mission="Appliances.", origin="outside")
    model, _ = device_services.device_model_publish(actor=maker, organisation=venture.organisation, document=document)
    return device_services.device_provision(actor=maker, organisation=venture.organisation, model=model,
                                            name=device_name)


@pytest.fixture
def make_home(make_person: Callable[..., User]) -> Callable[..., Home]:
    def make(email: str = "zhao@example.com") -> Home:
        person = make_person(email, name="Zhao Lei", intent="user")
        maker_one = make_person(name="Li Wei")
        maker_two = make_person(name="Amara Okafor")
        lamp, lamp_secret, lamp_code = _venture_device(maker_one, f"Bright Home {email}", LAMP, "Desk lamp")
        thermostat, thermo_secret, thermo_code = _venture_device(maker_two, f"Warm Homes {email}", THERMOSTAT,
                                                                 "Hall thermostat")
        device_services.device_claim(actor=person, code=lamp_code)
        device_services.device_claim(actor=person, code=thermo_code)
        lamp.refresh_from_db()
        thermostat.refresh_from_db()
        return Home(person, lamp, thermostat, lamp_secret, thermo_secret)

    return make


@pytest.fixture
def home(make_home: Callable[..., Home]) -> Home:
    return make_home()


@pytest.fixture(autouse=True)
def fresh_index() -> None:
    """Each test starts with an empty cache of which automations watch which device."""
    matching.index.clear()


def facts(*, events: list[tuple[str, str, Any]] = (), readings: list[tuple[str, str, Any, datetime | None]] = (),
          reported: dict[str, dict[str, Any]] | None = None) -> None:
    """Publish device facts as the gateway does: inside the transaction that stores them."""
    now = timezone.now()
    # inside a test's transaction nothing commits: run the after-commit work (the run's execution) as a commit would
    with TestCase.captureOnCommitCallbacks(execute=True), transaction.atomic():
        signals.facts_publish(signals.DeviceFacts(
            events=[signals.Event(device_id, now, name, data) for device_id, name, data in events],
            readings=[signals.Reading(device_id, ts or now, name, value) for device_id, name, value, ts in readings],
            reported=reported or {},
            at=now,
        ))
