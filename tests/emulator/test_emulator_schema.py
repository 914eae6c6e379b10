"""Property-based check of the served emulator against the patched OpenAPI document.

Every operation gets generated requests (valid and invalid ones); every answer must not be a
5xx and must match the schema documented for its status. Path ids are mostly replaced with
ids that exist, so the happy paths are exercised too. Two places where the emulator follows
the service rather than the document are patched into the document first (see DEVIATIONS).
"""

from __future__ import annotations

import copy
import json
import os
import random
import shutil
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from emulator_support import FAST, PATCHED_SPEC, job, py
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import response_schema_conformance

from rescale_async.emulator import ServedEmulator, background_server

EXAMPLES_PER_OPERATION = int(os.environ.get("RESCALE_ASYNC_FUZZ_EXAMPLES", "50"))
"""Generated requests per operation, valid and invalid ones (``nox -s fuzz`` runs 1,000)."""

DEVIATIONS: dict[tuple[str, ...], Any] = {
    # A java.net.URL, which the service's JSON mapper writes as a string (the SDK's model too).
    ("components", "schemas", "PresignedPutUrlResponse", "properties", "url"): {
        "type": "string",
        "format": "uri",
    },
    # "Get Region Settings For All Regions", filtered by cloudProvider and enabled: a list of
    # HTCRegionAdminSettings (as the SDK expects), not the one HTCInfraResource the schema names.
    ("paths", "/htc/regions", "get", "responses", "200", "content", "application/json", "schema"): {
        "type": "array",
        "items": {"$ref": "#/components/schemas/HTCRegionAdminSettings"},
    },
}


def load_operations() -> list[Any]:
    if not PATCHED_SPEC.exists():
        return []
    with PATCHED_SPEC.open(encoding="utf-8") as handle:
        document = json.load(handle)
    for path, replacement in DEVIATIONS.items():
        node = document
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = copy.deepcopy(replacement)
    schema = schemathesis.openapi.from_dict(document)
    schema.config.generation.update(modes=list(GenerationMode))  # valid and invalid data
    operations = []
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            raise result.err()
        operations.append(result.ok())
    return operations


OPERATIONS = load_operations()


class Target:
    def __init__(self, served: ServedEmulator, session: requests.Session) -> None:
        self.served = served
        self.session = session
        """One connection kept alive for every generated request (a new one each is slower)."""
        with httpx.Client(base_url=served.base_url + "/") as http:
            key = {"Authorization": f"Token {served.api_key}"}
            token = http.get("auth/token", headers=key).json()["tokenValue"]
            self.headers = {"Authorization": f"Bearer {token}"}
            project = f"htc/projects/{served.project_id}"
            task = http.post(
                f"{project}/tasks",
                json={"taskName": "fuzz", "taskDescription": ""},
                headers=self.headers,
            ).json()["taskId"]
            submitted = http.post(
                f"{project}/tasks/{task}/jobs/batch",
                json=[job(py("print('fuzz')"))],
                headers=self.headers,
            ).json()
        self.ids = {
            "projectId": served.project_id,
            "taskId": task,
            "jobId": f"{submitted[0]['parentJobId']}:0",
            "workspaceId": served.emulator.config.workspace_id,
            "imageName": "python:3.11",
        }


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    with background_server(**FAST) as served, requests.Session() as session:
        yield Target(served, session)


_TRUE = shutil.which("true")
HARMLESS_COMMAND = [_TRUE] if _TRUE else [sys.executable, "-c", "pass"]
"""A command that does nothing, quickly (``true``: no interpreter to start per job)."""


def _safe(body: Any) -> None:
    """Generated jobs run for real: make their commands harmless."""
    if isinstance(body, list):
        for item in body:
            definition = item.get("htcJobDefinition") if isinstance(item, dict) else None
            if isinstance(definition, dict):
                definition["commands"] = list(HARMLESS_COMMAND)


@pytest.mark.skipif(not OPERATIONS, reason=f"no OpenAPI document at {PATCHED_SPEC}")
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.label)
def test_responses_conform_to_the_patched_openapi_document(operation: Any, target: Target) -> None:
    chooser = random.Random(operation.label)

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    def check(case: Any) -> None:
        parameters = case.path_parameters or {}
        if chooser.random() < 0.8:
            for name, value in target.ids.items():
                if name in parameters:
                    parameters[name] = value
        _safe(case.body)
        case.call_and_validate(
            base_url=target.served.base_url,
            session=target.session,
            headers=target.headers,
            checks=[not_a_server_error, response_schema_conformance],
        )

    check()
