"""The catalog command line: how it builds requests, without a running catalog."""

import pytest

from services.catalog.cli import city_request, parser
from services.catalog.onboarding import OnboardingSchema

CITIES_FILE = "data/cities.json"


def onboard_args(*extra):
    return parser().parse_args(["onboard", *extra])


def test_onboard_request_from_city_file():
    request = city_request(onboard_args(
        "--slug", "pittsburgh", "--city-file", CITIES_FILE,
        "--admin-email", "admin@pittsburgh.example", "--admin-name", "Pat Admin",
        "--anchor-name", "Pittsburgh Learning Anchor"))
    loaded = OnboardingSchema().load(request)
    assert loaded["time_zone"] == "America/New_York"
    assert loaded["admin"] == {"email": "admin@pittsburgh.example", "name": "Pat Admin"}
    assert loaded["anchor_organization"]["name"] == "Pittsburgh Learning Anchor"
    assert "boundary_file" not in request


def test_onboard_request_from_flags_centres_bbox():
    request = city_request(onboard_args(
        "--slug", "springfield", "--name", "Springfield", "--time-zone",
        "America/Chicago", "--default-locale", "es", "--locales", "en,es",
        "--bbox", "39.70", "-89.75", "39.86", "-89.55", "--display-name",
        "Springfield City of Learning", "--primary-colour", "#336699"))
    loaded = OnboardingSchema().load(request)
    assert loaded["centre"] == pytest.approx({"lat": 39.78, "lon": -89.65})
    assert loaded["locales"] == ["en", "es"]
    assert loaded["admin"] is None


def test_onboard_flag_overrides_city_file():
    request = city_request(onboard_args("--slug", "dallas", "--city-file", CITIES_FILE,
                                        "--primary-colour", "#000000"))
    assert request["branding"]["primary_colour"] == "#000000"
    assert request["branding"]["display_name"] == "Dallas City of Learning"


def test_onboard_unknown_slug_in_file_exits():
    with pytest.raises(SystemExit) as caught:
        city_request(onboard_args("--slug", "atlantis", "--city-file", CITIES_FILE))
    assert "atlantis" in str(caught.value)


def test_import_arguments_parsed():
    args = parser().parse_args(["import", "data/mappings/dallas-col-programs.yml",
                                "--dry-run", "--report", "report.json"])
    assert args.dry_run is True
    assert args.mappings == ["data/mappings/dallas-col-programs.yml"]
    assert args.report == "report.json"
