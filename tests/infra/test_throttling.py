"""API Gateway stage throttling as `python -m deploy deploy` sets it after `chalice deploy`, on moto."""

from __future__ import annotations

import io
import json
from pathlib import Path

from deploy import throttling
from deploy.target import Target


def test_the_stage_gets_default_method_throttling(local_target: Target) -> None:
    apigateway = local_target.apigateway()
    api_id = apigateway.create_rest_api(name="throttle-test")["id"]
    root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
    apigateway.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigateway.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
    apigateway.create_deployment(restApiId=api_id, stageName="api")
    try:
        out = io.StringIO()
        throttling.apply(apigateway, api_id, "api", out)
        settings = apigateway.get_stage(restApiId=api_id, stageName="api")["methodSettings"]["*/*"]
        assert (settings["throttlingRateLimit"], settings["throttlingBurstLimit"]) == (
            throttling.RATE_LIMIT,
            throttling.BURST_LIMIT,
        )
        assert "throttled to 25 requests/s" in out.getvalue()
    finally:
        apigateway.delete_rest_api(restApiId=api_id)


def test_the_rest_api_id_comes_from_chalices_deployed_record(tmp_path: Path) -> None:
    deployed = tmp_path / ".chalice" / "deployed"
    deployed.mkdir(parents=True)
    assert throttling.rest_api_id(tmp_path, "dev") is None
    record = {
        "resources": [{"resource_type": "rest_api", "rest_api_id": "abc123", "rest_api_url": "https://x"}]
    }
    (deployed / "dev.json").write_text(json.dumps(record))
    assert throttling.rest_api_id(tmp_path, "dev") == "abc123"
