def test_healthz_answers_without_touching_anything(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_reports_each_part_and_refuses_when_the_broker_is_unreachable(client, db, settings) -> None:
    settings.MQTT_URL = "mqtt://127.0.0.1:1"  # nothing listens on port 1
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 503 and body["status"] == "not ready"
    assert body["checks"]["database"] == "ok" and body["checks"]["worker"] == "ok"
    assert body["checks"]["broker"].startswith("mqtt://127.0.0.1:1")
