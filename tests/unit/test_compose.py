"""docker-compose.yml cannot run here (no Docker engine), so check its shape."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(path.parent.name for path in (ROOT / "services").glob("*/service.py"))


def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def test_compose_has_every_service_and_gateway():
    assert SERVICES == ["badges", "catalog", "identity", "notifications", "registration",
                        "search"]
    assert set(SERVICES) | {"gateway"} <= set(compose())


def test_compose_entries_have_healthchecks():
    entries = compose()
    for name in [*SERVICES, "gateway", "rabbitmq", "mongo", "elasticsearch"]:
        assert "healthcheck" in entries[name], name


def test_compose_uses_real_images():
    entries = compose()
    assert entries["rabbitmq"]["image"].startswith("rabbitmq:")
    assert entries["mongo"]["image"].startswith("mongo:")
    assert "elasticsearch:8." in entries["elasticsearch"]["image"]


def test_compose_services_run_their_own_class():
    entries = compose()
    for name in SERVICES:
        assert any(f"services.{name}.service:" in part for part in entries[name]["command"])
