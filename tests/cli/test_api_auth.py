"""SigV4 for the order API: what the tool's traffic signs and what the local gateway refuses, as API Gateway."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ecomctl.api_auth import IAM, NONE, Signer, check, mode_of

URL = "http://127.0.0.1:8080/orders"
BODY = b'{"customerId": "c1"}'
SECRETS = {"AKIDEXAMPLE": "secret"}
SIGNER = Signer("us-east-1", "AKIDEXAMPLE", "secret")


def _signed(signer: Signer = SIGNER, body: bytes = BODY) -> dict[str, str]:
    headers = signer.headers("POST", URL, body, {"Content-Type": "application/json", "Idempotency-Key": "k1",
                                                 "User-Agent": "locust"})
    return {**headers, "Host": "127.0.0.1:8080"}


def test_a_signed_request_passes_and_keeps_its_own_headers():
    headers = _signed()
    assert headers["Idempotency-Key"] == "k1" and headers["User-Agent"] == "locust"
    assert "execute-api/aws4_request" in headers["Authorization"]
    assert check("POST", URL, headers, BODY, SECRETS, "us-east-1") is None


def test_what_api_gateway_refuses_is_refused_with_its_message():
    headers = _signed()
    assert check("POST", URL, {"Host": "127.0.0.1:8080"}, BODY, SECRETS, "us-east-1") == "Missing Authentication Token"
    assert "does not match" in check("POST", URL, headers, b'{"customerId": "c2"}', SECRETS, "us-east-1")
    assert "does not match" in check("POST", URL, {**headers, "Idempotency-Key": "k2"}, BODY, SECRETS, "us-east-1")
    assert "does not match" in check("GET", URL, headers, BODY, SECRETS, "us-east-1")
    assert "invalid" in check("POST", URL, headers, BODY, {"OTHER": "secret"}, "us-east-1")
    assert "does not match" in check("POST", URL, headers, BODY, {"AKIDEXAMPLE": "wrong"}, "us-east-1")
    assert "region" in check("POST", URL, headers, BODY, SECRETS, "eu-west-1")
    later = datetime.now(UTC) + timedelta(minutes=16)
    assert check("POST", URL, headers, BODY, SECRETS, "us-east-1", now=later) == "Signature expired"
    assert "Credential" in check("POST", URL, {**headers, "Authorization": "Bearer x"}, BODY, SECRETS, "us-east-1")


def test_a_session_token_is_signed_and_the_child_gets_the_credentials_through_its_environment():
    signer = Signer("us-east-1", "AKIDEXAMPLE", "secret", "token-1")
    headers = _signed(signer)
    assert headers["X-Amz-Security-Token"] == "token-1"
    assert check("POST", URL, headers, BODY, SECRETS, "us-east-1") is None
    assert "does not match" in check("POST", URL, {**headers, "X-Amz-Security-Token": "t2"}, BODY, SECRETS,
                                     "us-east-1")
    assert Signer.from_env(signer.to_env()) == signer
    assert Signer.from_env({}) is None


def test_the_window_records_the_mode_and_anything_else_reads_as_open():
    assert mode_of({"api_auth": "iam"}) == IAM
    assert mode_of({}) == NONE and mode_of({"api_auth": "bogus"}) == NONE
