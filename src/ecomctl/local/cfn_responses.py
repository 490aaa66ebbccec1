"""A local stand-in for CloudFormation's pre-signed response URL, and the events that use it.

On AWS, CloudFormation invokes a custom resource's function with an event whose
``ResponseURL`` is a pre-signed S3 URL; the function PUTs its answer there and
CloudFormation reads it. Locally, :class:`ResponseServer` is that URL: an HTTPS server on
127.0.0.1 (crhelper always speaks HTTPS) with a self-signed certificate made at start,
which records every PUT body by path. :class:`CustomResourceDriver` plays CloudFormation:
it builds Create/Update/Delete events, invokes the function through the function host and
reads the answer, and says so when there is none (the classic way a stack gets stuck).
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol

LOCAL_ACCOUNT = "123456789012"


class NoAnswer(RuntimeError):
    """The custom resource's function returned without answering CloudFormation."""


@dataclass(frozen=True)
class Answer:
    status: str  # SUCCESS or FAILED
    physical_id: str
    reason: str
    data: dict[str, Any]
    raw: str  # the body exactly as PUT, for tests that inspect what CloudFormation would store

    @staticmethod
    def of(body: str) -> Answer:
        doc = json.loads(body)
        return Answer(status=str(doc.get("Status")), physical_id=str(doc.get("PhysicalResourceId", "")),
                      reason=str(doc.get("Reason", "")), data=dict(doc.get("Data") or {}), raw=body)


def _self_signed(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cfn-response.pem", directory / "cfn-response.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class ResponseServer:
    """HTTPS on 127.0.0.1 that records the PUT body of each path; ``ca_file`` is what a client must trust."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="ecomctl-cfn-")
        cert, key = _self_signed(Path(self._dir.name))
        self.ca_file = str(cert)
        self._bodies: dict[str, str] = {}
        self._arrived = threading.Condition()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                with recorder._arrived:
                    recorder._bodies[self.path] = body
                    recorder._arrived.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="cfn-responses", daemon=True)

    def __enter__(self) -> ResponseServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._dir.cleanup()

    def url(self, token: str) -> str:
        return f"https://127.0.0.1:{self._server.server_address[1]}/{token}"

    def take(self, token: str, timeout_s: float = 0.0) -> Answer | None:
        """The answer PUT to ``url(token)``, waiting up to ``timeout_s``; None if none came."""
        path = f"/{token}"
        with self._arrived:
            self._arrived.wait_for(lambda: path in self._bodies, timeout=timeout_s)
            body = self._bodies.pop(path, None)
        return None if body is None else Answer.of(body)


class Invoker(Protocol):
    def invoke(self, logical: str, event: Any) -> Any: ...


@dataclass
class CustomResourceDriver:
    """CloudFormation's side of one custom resource: events in, the PUT answer out."""

    host: Invoker
    responses: ResponseServer
    function: str  # logical name of the handler in the topology
    function_arn: str
    stack_name: str
    logical_id: str
    resource_type: str
    region: str = "us-east-1"
    stack_id: str = field(default="")

    def __post_init__(self) -> None:
        if not self.stack_id:
            self.stack_id = (f"arn:aws:cloudformation:{self.region}:{LOCAL_ACCOUNT}:stack/"
                             f"{self.stack_name}/{uuid.uuid4()}")

    def event(self, request_type: str, properties: dict[str, Any], *, physical_id: str | None = None,
              old_properties: dict[str, Any] | None = None, request_id: str | None = None) -> dict[str, Any]:
        token = uuid.uuid4().hex
        event: dict[str, Any] = {
            "RequestType": request_type, "ServiceToken": self.function_arn,
            "ResponseURL": self.responses.url(token), "StackId": self.stack_id,
            "RequestId": request_id or str(uuid.uuid4()), "LogicalResourceId": self.logical_id,
            "ResourceType": self.resource_type,
            "ResourceProperties": {"ServiceToken": self.function_arn, **properties},
        }
        if physical_id is not None:
            event["PhysicalResourceId"] = physical_id
        if old_properties is not None:
            event["OldResourceProperties"] = {"ServiceToken": self.function_arn, **old_properties}
        return event

    def send(self, event: dict[str, Any]) -> Answer:
        token = event["ResponseURL"].rsplit("/", 1)[1]
        self.host.invoke(self.function, event)
        answer = self.responses.take(token, timeout_s=2.0)
        if answer is None:
            raise NoAnswer(f"{self.logical_id}: {event['RequestType']} returned without answering CloudFormation")
        return answer

    def create(self, properties: dict[str, Any], request_id: str | None = None) -> Answer:
        return self.send(self.event("Create", properties, request_id=request_id))

    def update(self, physical_id: str, old: dict[str, Any], new: dict[str, Any]) -> Answer:
        return self.send(self.event("Update", new, physical_id=physical_id, old_properties=old))

    def delete(self, physical_id: str, properties: dict[str, Any]) -> Answer:
        return self.send(self.event("Delete", properties, physical_id=physical_id))
