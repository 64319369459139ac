"""Telemetry through the API: raw points page by page, and aggregates computed by the database; retention."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from makercloud.devices import jobs
from makercloud.devices.models import Device, DeviceEvent, DeviceModel, TelemetryPoint

T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def point(device: Device, ts: datetime, name: str, value: object) -> TelemetryPoint:
    number = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    return TelemetryPoint(device=device, ts=ts, name=name, number=number, value=value)


def test_buckets_compute_min_max_avg_count(maker_client: Client, device: Device) -> None:
    TelemetryPoint.objects.bulk_create([
        point(device, T0 + timedelta(minutes=1), "temperature", 20),
        point(device, T0 + timedelta(minutes=20), "temperature", 22.5),
        point(device, T0 + timedelta(minutes=59, seconds=59), "temperature", 27),
        point(device, T0 + timedelta(hours=1), "temperature", 30),
        point(device, T0 + timedelta(minutes=5), "brightness", 10),
        point(device, T0 + timedelta(minutes=6), "on", True),
        point(device, T0 + timedelta(minutes=7), "scene", {"name": "x"}),
    ])
    query = f"?bucket=hour&since={T0.isoformat()}&until={(T0 + timedelta(hours=2)).isoformat()}".replace("+", "%2B")
    response = maker_client.get(f"/api/v1/devices/{device.pk}/telemetry{query}")
    assert response.status_code == 200, response.content
    buckets = {(b["start"], b["property"]): b for b in response.json()["buckets"]}
    first = buckets[(T0.isoformat().replace("+00:00", "Z"), "temperature")]
    assert (first["min"], first["max"], first["count"]) == (20, 27, 3)
    assert first["avg"] == pytest.approx(23.1666, abs=1e-3)
    second = buckets[((T0 + timedelta(hours=1)).isoformat().replace("+00:00", "Z"), "temperature")]
    assert (second["min"], second["max"], second["avg"], second["count"]) == (30, 30, 30, 1)
    scene = buckets[(T0.isoformat().replace("+00:00", "Z"), "scene")]
    assert scene["count"] == 1 and scene["avg"] is None
    only = maker_client.get(f"/api/v1/devices/{device.pk}/telemetry{query}&property=brightness").json()["buckets"]
    assert [(b["property"], b["count"]) for b in only] == [("brightness", 1)]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.integers(min_value=-1000, max_value=1000), min_size=1, max_size=30),
       minutes=st.lists(st.integers(min_value=0, max_value=179), min_size=30, max_size=30))
def test_buckets_agree_with_python(device: Device, values: list[int], minutes: list[int]) -> None:
    TelemetryPoint.objects.filter(device=device).delete()
    rows = [(T0 + timedelta(minutes=m), v) for v, m in zip(values, minutes, strict=False)]
    TelemetryPoint.objects.bulk_create([point(device, ts, "t", v) for ts, v in rows])
    from makercloud.devices import selectors

    got = {b["start"]: b for b in selectors.telemetry_buckets(device=device, bucket="hour", since=T0)}
    expected: dict[datetime, list[int]] = {}
    for ts, v in rows:
        expected.setdefault(ts.replace(minute=0), []).append(v)
    assert set(got) == set(expected)
    for start, vs in expected.items():
        assert (got[start]["min"], got[start]["max"], got[start]["count"]) == (min(vs), max(vs), len(vs))
        assert got[start]["avg"] == pytest.approx(sum(vs) / len(vs))


def test_raw_points_page_newest_first_with_filters(maker_client: Client, device: Device) -> None:
    TelemetryPoint.objects.bulk_create([point(device, T0 + timedelta(minutes=i), "brightness", i) for i in range(5)])
    TelemetryPoint.objects.bulk_create([point(device, T0, "temperature", 21)])
    url = f"/api/v1/devices/{device.pk}/telemetry?property=brightness&limit=3"
    page = maker_client.get(url).json()
    assert [p["value"] for p in page["items"]] == [4, 3, 2]
    rest = maker_client.get(f"{url}&cursor={page['next_cursor']}").json()
    assert [p["value"] for p in rest["items"]] == [1, 0] and rest["next_cursor"] is None
    since = (T0 + timedelta(minutes=3)).isoformat().replace("+", "%2B")
    assert [p["value"] for p in maker_client.get(f"{url}&since={since}").json()["items"]] == [4, 3]


def test_events_history(maker_client: Client, device: Device) -> None:
    DeviceEvent.objects.create(device=device, ts=T0, name="overheated", data=81.5)
    items = maker_client.get(f"/api/v1/devices/{device.pk}/events").json()["items"]
    assert [(e["name"], e["data"]) for e in items] == [("overheated", 81.5)]


def test_retention_deletes_only_expired_points(device: Device, lamp_model: DeviceModel) -> None:
    DeviceModel.objects.filter(pk=lamp_model.pk).update(retention_days=7)
    now = timezone.now()
    TelemetryPoint.objects.bulk_create([
        point(device, now - timedelta(days=8), "brightness", 1),
        point(device, now - timedelta(days=6), "brightness", 2),
    ])
    assert jobs.telemetry_expire.call_local() == 1
    assert list(TelemetryPoint.objects.values_list("value", flat=True)) == [2]
