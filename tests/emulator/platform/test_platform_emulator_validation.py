"""Job creation refuses what the service refuses, with DRF's nested field errors."""

from __future__ import annotations

from typing import Any

import httpx
from platform_emulator_support import analysis, job_body, ok, platform, upload


async def _refused(http: httpx.AsyncClient, body: Any) -> Any:
    response = await http.post("jobs/", json=body)
    assert response.status_code == 400, response.text
    return response.json()


async def test_required_fields_are_named() -> None:
    async with platform() as (emu, http):
        assert await _refused(http, {}) == {
            "name": ["This field is required."],
            "jobanalyses": ["This field is required."],
        }
        assert await _refused(http, {"name": "  ", "jobanalyses": []}) == {
            "name": ["This field may not be blank."],
            "jobanalyses": {"non_field_errors": ["This list may not be empty."]},
        }
        assert await _refused(http, [1]) == {
            "non_field_errors": ["Invalid data. Expected a dictionary, but got list."]
        }
        no_command = {"analysis": {"code": "user_included"}, "hardware": {"coreType": "granite"}}
        assert await _refused(http, job_body(no_command)) == {
            "jobanalyses": [
                {
                    "analysis": {"version": ["This field is required."]},
                    "command": ["This field is required."],
                    "hardware": {"coresPerSlot": ["This field is required."]},
                }
            ]
        }
        assert emu.platform.jobs_created == 0


async def test_the_coretype_must_allow_the_cores_per_slot() -> None:
    async with platform() as (_, http):
        good = analysis("true", core="granite", cores=2)
        bad = analysis("true", core="granite", cores=1)
        errors = await _refused(http, job_body(good, bad))
        assert errors == {
            "jobanalyses": [
                {},
                {
                    "hardware": {
                        "coresPerSlot": [
                            "Invalid number of cores per slot (1) for core type granite. "
                            "Allowed: 2, 4, 8, 16, 32, 64, 128."
                        ]
                    }
                },
            ]
        }
        assert await _refused(http, job_body(analysis("true", core="diamond"))) == {
            "jobanalyses": [
                {"hardware": {"coreType": ["Object with code=diamond does not exist."]}}
            ]
        }
        inactive = await _refused(http, job_body(analysis("true", core="pyrite")))
        assert inactive["jobanalyses"][0]["hardware"]["coreType"] == [
            "Core type pyrite is not active."
        ]
        typed = analysis("true")
        typed["hardware"]["coresPerSlot"] = "two"
        typed["hardware"]["walltime"] = 0
        assert (await _refused(http, job_body(typed)))["jobanalyses"][0]["hardware"] == {
            "coresPerSlot": ["A valid integer is required."],
            "walltime": ["Ensure this value is greater than or equal to 1."],
        }


async def test_the_analysis_and_its_version_must_exist_and_allow_the_coretype() -> None:
    async with platform() as (_, http):
        unknown = analysis("true")
        unknown["analysis"] = {"code": "nastran", "version": "1"}
        assert (await _refused(http, job_body(unknown)))["jobanalyses"][0] == {
            "analysis": {"code": ["Object with code=nastran does not exist."]}
        }
        wrong_version = analysis("true")
        wrong_version["analysis"] = {"code": "user_included", "version": "2023r2"}
        message = (await _refused(http, job_body(wrong_version)))["jobanalyses"][0]["analysis"]
        assert message["version"] == [
            'Analysis user_included has no version with versionCode "2023r2": "0" (0).'
        ]
        gpu_tile = analysis("true", core="granite")
        gpu_tile["analysis"] = {"code": "tensorflow", "version": "2.15-gpu"}
        hardware = (await _refused(http, job_body(gpu_tile)))["jobanalyses"][0]["hardware"]
        assert hardware["coreType"][0].startswith("Core type granite is not allowed for TensorFlow")
        fluent = analysis("true", core="emerald_max", cores=4)
        fluent["analysis"] = {"code": "ansys_fluent", "version": "2019r1"}
        fluent["envVars"] = {"ANSYSLI_SERVERS": "2325@ansys.server.com"}
        created = await ok(await http.post("jobs/", json=job_body(fluent)), 201)
        assert created["jobanalyses"][0]["analysis"]["versionName"] == "2019 R1"


async def test_input_files_projects_and_types_are_checked() -> None:
    async with platform() as (emu, http):
        real = await upload(http, "in.txt", b"x")
        inputs = ({"id": real["id"]}, {"id": "NoSuch"}, {"id": real["id"], "decompress": "maybe"})
        errors = await _refused(http, job_body(analysis("true", inputs=inputs)))
        assert errors["jobanalyses"][0]["inputFiles"] == [
            {},
            {"id": ['Invalid pk "NoSuch" - object does not exist.']},
            {"decompress": ["Must be a valid boolean."]},
        ]
        body = {**job_body(analysis("true")), "project_id": "nope", "isLowPriority": "x"}
        assert await _refused(http, body) == {
            "isLowPriority": ["Must be a valid boolean."],
            "projectId": ['Invalid pk "nope" - object does not exist.'],
        }
        env = analysis("true", envVars={"A": ["not", "a", "string"]})
        assert (await _refused(http, job_body(env)))["jobanalyses"][0] == {
            "envVars": {"A": ["Not a valid string."]}
        }
        project = emu.platform.projects[0]["id"]
        body = {**job_body(analysis("true")), "projectId": project, "ignored": {"any": 1}}
        created = await ok(await http.post("jobs/", json=body), 201)
        assert created["projectId"] == project
        assert "ignored" not in created  # unknown fields are ignored, as DRF does
        not_json = await http.post(
            "jobs/", content=b"name=x", headers={"content-type": "text/plain"}
        )
        assert not_json.status_code == 415
