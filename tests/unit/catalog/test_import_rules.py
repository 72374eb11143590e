"""Rules that no real row triggers, checked on edited copies of one real row.

Each test writes a small CSV into a temporary folder: the header of the Dallas
programme files and real row 67051 ("Camp Pursuit - Dallas"), with the one
field named in the test changed. The files are test input, not data.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
import yaml

from services.catalog.importing import (
    MappingError,
    SourceFileError,
    load_source,
)

DATA_ROOT = Path(__file__).resolve().parents[3] / "data"
DALLAS_FILE = DATA_ROOT / "real/dallas/dallas_city_of_learning_programs_2019_2021.csv"
DALLAS_MAPPING = DATA_ROOT / "mappings/dallas-col-programs.yml"
ROW_ID = "67051"


def real_row() -> tuple[list[str], dict[str, str]]:
    with open(DALLAS_FILE, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        row = next(row for row in reader if row["id"] == ROW_ID)
        return list(reader.fieldnames), row


def write_source(root: Path, rows: list[dict[str, str]], extra_fields: int = 0):
    """Write ``rows`` as the only source file of a copy of the Dallas mapping."""
    header, _ = real_row()
    for name in ("cities.json", "interests.json"):
        shutil.copy(DATA_ROOT / name, root / name)
    with open(root / "programs.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row[column] for column in header] + ["x"] * extra_fields)

    with open(DALLAS_MAPPING, encoding="utf-8") as handle:
        mapping = yaml.safe_load(handle)
    mapping["files"] = ["programs.csv"]
    (root / "mappings").mkdir(exist_ok=True)
    path = root / "mappings" / "programs.yml"
    path.write_text(yaml.safe_dump(mapping), encoding="utf-8")
    return path


def import_edited(tmp_path: Path, **changes: str):
    _, row = real_row()
    row.update(changes)
    return load_source(write_source(tmp_path, [row]))


def test_rules_unedited_row_kept(tmp_path):
    result = import_edited(tmp_path)
    [document] = result.documents
    assert document["source_id"] == ROW_ID
    assert document["title"] == "Camp Pursuit - Dallas"
    assert result.rejected == []


@pytest.mark.parametrize(
    ("changes", "reason_code", "field"),
    [
        ({"end_date": "2019-07-01"}, "end_before_start", "end_date"),
        ({"min_age": "14", "max_age": "6"}, "age_range_inverted", "min_age"),
        ({"min_age": "six"}, "invalid_age", "min_age"),
        ({"max_age": "150"}, "invalid_age", "max_age"),
        ({"start_date": "2019-13-40"}, "invalid_date", "start_date"),
        ({"latitude": "132.9094"}, "invalid_coordinates", "latitude,longitude"),
        ({"latitude": "north"}, "invalid_coordinates", "latitude,longitude"),
        (
            {"latitude": "0", "longitude": "0"},
            "invalid_coordinates",
            "latitude,longitude",
        ),
        (
            {"latitude": "-96.7951", "longitude": "32.9094"},
            "invalid_coordinates",
            "latitude,longitude",
        ),
        ({"name": "   "}, "missing_title", "name"),
        ({"org_name": ""}, "missing_provider", "org_name"),
        ({"id": ""}, "missing_source_id", "id"),
        ({"name": "Test Program"}, "test_record", "name"),
    ],
)
def test_rules_edited_row_rejected(tmp_path, changes, reason_code, field):
    result = import_edited(tmp_path, **changes)
    assert result.documents == []
    [rejection] = result.rejected
    assert rejection.reason_code == reason_code
    assert rejection.field == field
    assert rejection.line == 2
    assert rejection.file == "programs.csv"


def test_rules_swapped_coordinates_explained(tmp_path):
    result = import_edited(tmp_path, latitude="-96.7951", longitude="32.9094")
    assert "swapped" in result.rejected[0].reason


@pytest.mark.parametrize(
    ("changes", "field", "expected", "code"),
    [
        ({"start_time": "25:00"}, "start_time", None, "invalid_time"),
        ({"capacity": "lots"}, "capacity", None, "invalid_capacity"),
        ({"zipcode": "7523"}, "locations", None, "invalid_postal_code"),
        ({"registration_url": "call us"}, "registration_url", None, "url_not_http"),
    ],
)
def test_rules_edited_row_repaired(tmp_path, changes, field, expected, code):
    result = import_edited(tmp_path, **changes)
    [document] = result.documents
    if field == "locations":
        assert document["locations"][0]["postal_code"] == expected
    else:
        assert document[field] == expected
    assert [warning.reason_code for warning in result.warnings] == [code]


def test_rules_zip_plus_four_cut(tmp_path):
    result = import_edited(tmp_path, zipcode="75230-1234")
    assert result.documents[0]["locations"][0]["postal_code"] == "75230"
    assert result.warnings == []


def test_rules_online_without_coordinates_published(tmp_path):
    result = import_edited(tmp_path, meeting_type="online", latitude="", longitude="")
    [document] = result.documents
    assert document["format"] == "online"
    assert document["locations"] == []
    assert document["status"] == "published"


def test_rules_hidden_without_coordinates_notes_both(tmp_path):
    result = import_edited(tmp_path, hide="1", latitude="", longitude="")
    [document] = result.documents
    assert document["status"] == "withdrawn"
    assert len(document["review_notes"]) == 2


def test_rules_duplicate_id_later_row_wins(tmp_path):
    _, first = real_row()
    second = dict(first, name="Camp Pursuit - Dallas, second session")
    result = load_source(write_source(tmp_path, [first, second]))
    [document] = result.documents
    assert document["title"] == "Camp Pursuit - Dallas, second session"
    assert result.merged_rows == 1
    assert [w.reason_code for w in result.warnings] == ["duplicate_replaced"]
    assert result.summary()["rows_read"] == 2


def test_rules_malformed_row_rejected(tmp_path):
    _, row = real_row()
    result = load_source(write_source(tmp_path, [row], extra_fields=2))
    assert [r.reason_code for r in result.rejected] == ["malformed_row"]


def test_rules_json_source_matches_csv(tmp_path):
    csv_result = import_edited(tmp_path)
    _, row = real_row()
    (tmp_path / "programs.json").write_text(json.dumps([row]), encoding="utf-8")
    mapping_path = tmp_path / "mappings" / "programs.yml"
    mapping = yaml.safe_load(mapping_path.read_text(encoding="utf-8"))
    mapping.update(format="json", files=["programs.json"])
    mapping_path.write_text(yaml.safe_dump(mapping), encoding="utf-8")
    json_result = load_source(mapping_path)
    assert json_result.documents == csv_result.documents


def edit_mapping(tmp_path: Path, **changes) -> Path:
    _, row = real_row()
    path = write_source(tmp_path, [row])
    mapping = yaml.safe_load(path.read_text(encoding="utf-8"))
    mapping.update(changes)
    path.write_text(yaml.safe_dump(mapping), encoding="utf-8")
    return path


def test_mapping_unknown_field_raises(tmp_path):
    path = edit_mapping(tmp_path, columns={"headline": "name"})
    with pytest.raises(MappingError, match="headline"):
        load_source(path)


def test_mapping_unknown_interest_raises(tmp_path):
    path = edit_mapping(
        tmp_path,
        rules={"interest_rules": [{"interest": "astrology", "patterns": ["stars"]}]},
    )
    with pytest.raises(MappingError, match="astrology"):
        load_source(path)


def test_mapping_missing_column_raises(tmp_path):
    path = edit_mapping(tmp_path, columns={"title": "headline"})
    with pytest.raises(SourceFileError, match="headline"):
        load_source(path)


def test_mapping_unknown_city_raises(tmp_path):
    path = edit_mapping(tmp_path, city="houston")
    with pytest.raises(MappingError, match="houston"):
        load_source(path)


def test_source_invalid_utf8_raises(tmp_path):
    _, row = real_row()
    path = write_source(tmp_path, [row])
    source = tmp_path / "programs.csv"
    source.write_bytes(source.read_bytes() + b"99999,\xff\xfe broken\n")
    with pytest.raises(SourceFileError, match="UTF-8"):
        load_source(path)


def test_source_missing_file_raises(tmp_path):
    path = edit_mapping(tmp_path, files=["absent.csv"])
    with pytest.raises(SourceFileError, match="absent.csv"):
        load_source(path)
