"""The order API over HTTP, with API Gateway REST proxy-integration semantics.

moto cannot serve a Lambda proxy integration in server mode, so the local target runs
this small threaded HTTP server in place of API Gateway: each request becomes the same
``AWS_PROXY`` event API Gateway would send (resource, pathParameters, headers and
multiValueHeaders, requestContext with a request id and epoch), the API function runs
in-process, and its ``{statusCode, headers, body, isBase64Encoded}`` becomes the reply.
Like API Gateway it answers 403 ``Missing Authentication Token`` for routes it does not
know, 502 ``Internal server error`` when the function fails or returns a malformed
response. With ``authorize`` set (the window's API under AWS_IAM) it answers 403 with
API Gateway's message to a request without a valid SigV4 signature. (Unlike API Gateway
it does not cut a request off at 29 s.)
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ecomctl.local.lambda_bridge import FunctionHost

# (method, status, latency_ms) after each request: AWS/ApiGateway metrics.
RequestHook = Callable[[str, int, float], None]
# (method, url, headers, body) -> why the request is refused, or None: the method's authorization.
Authorize = Callable[[str, str, dict[str, str], bytes], "str | None"]

# Routes of the REST API (the CDK app declares the same): resource template -> methods.
ROUTES: dict[str, tuple[str, ...]] = {
    "/orders": ("POST",),
    "/orders/{orderId}": ("GET",),
}
MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload limit

log = logging.getLogger("ecomctl.local.api")


def match(path: str) -> tuple[str, dict[str, str]] | None:
    parts = [p for p in path.split("/") if p]
    for resource in ROUTES:
        template = [p for p in resource.split("/") if p]
        if len(template) != len(parts):
            continue
        params: dict[str, str] = {}
        for t, p in zip(template, parts, strict=True):
            if t.startswith("{") and t.endswith("}"):
                params[t[1:-1]] = p
            elif t != p:
                break
        else:
            return resource, params
    return None


def proxy_event(
    method: str, path: str, query: str, headers: list[tuple[str, str]], body: bytes, resource: str,
    path_params: dict[str, str], stage: str, source_ip: str,
) -> dict[str, Any]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for k, v in headers:
        single[k] = v
        multi.setdefault(k, []).append(v)
    qs = parse_qs(query, keep_blank_values=True) if query else {}
    text: str | None
    is_b64 = False
    if not body:
        text = None
    else:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text, is_b64 = base64.b64encode(body).decode(), True
    now = time.time()
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": single or None,
        "multiValueHeaders": multi or None,
        "queryStringParameters": {k: v[-1] for k, v in qs.items()} or None,
        "multiValueQueryStringParameters": qs or None,
        "pathParameters": path_params or None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "local",
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/{stage}{path}",
            "stage": stage,
            "protocol": "HTTP/1.1",
            "requestId": str(uuid.uuid4()),
            "extendedRequestId": uuid.uuid4().hex[:16],
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "identity": {"sourceIp": source_ip, "userAgent": single.get("User-Agent")},
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "127.0.0.1",
        },
        "body": text,
        "isBase64Encoded": is_b64,
    }


class HttpFront:
    """A threaded HTTP/1.1 server on 127.0.0.1 whose every request goes to ``handle``
    (the order API here, the cells' router in ``ecomctl.local.router``)."""

    server_version = "ecomctl-local"
    thread_name = "http-front"

    def __init__(self, port: int, bind: str = "127.0.0.1") -> None:
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = front.server_version

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _handle(self) -> None:
                front.handle(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 256

        self.server = Server((bind, port), Handler)
        self.port = self.server.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self.server.serve_forever, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread:  # shutdown() waits for serve_forever, which only a started server runs
            self.server.shutdown()
            self._thread.join(timeout=5)
        self.server.server_close()

    def handle(self, req: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError


class ApiGateway(HttpFront):
    """A threaded HTTP front door for the topology's API function."""

    server_version = "ecomctl-local-apigw"
    thread_name = "apigw"

    def __init__(self, host: FunctionHost, function: str, stage: str, port: int, bind: str = "127.0.0.1",
                 authorize: Authorize | None = None) -> None:
        super().__init__(port, bind)
        self.host = host
        self.function = function
        self.stage = stage
        self.authorize = authorize
        self.hooks: list[RequestHook] = []

    def handle(self, req: BaseHTTPRequestHandler) -> None:
        started = time.perf_counter()
        length = int(req.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._reply(req, 413, {"Content-Type": "application/json"}, b'{"message":"Request Too Long"}', started)
            return
        body = req.rfile.read(length) if length else b""
        split = urlsplit(req.path)
        found = match(split.path)
        if found is None or req.command not in ROUTES[found[0]]:
            self._reply(req, 403, {"Content-Type": "application/json"},
                        b'{"message":"Missing Authentication Token"}', started)
            return
        if self.authorize is not None:
            from ecomctl.api_auth import url_of

            refused = self.authorize(req.command, url_of(req.headers.get("Host", ""), req.path),
                                     dict(req.headers.items()), body)
            if refused is not None:
                self._reply(req, 403, {"Content-Type": "application/json", "x-amzn-ErrorType": "ForbiddenException"},
                            json.dumps({"message": refused}).encode(), started)
                return
        resource, params = found
        event = proxy_event(req.command, split.path, split.query, list(req.headers.items()), body, resource,
                            params, self.stage, req.client_address[0])
        status, headers, payload = self._invoke(event)
        self._reply(req, status, headers, payload, started)

    def _invoke(self, event: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        error = (502, {"Content-Type": "application/json"}, b'{"message": "Internal server error"}')
        try:
            result = self.host.invoke(self.function, event)
        except Exception:
            # What Lambda writes to the function's log for an unhandled error.
            log.exception("function %s failed; API Gateway answers 502", self.function)
            return error
        if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
            return error
        headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
        for k, values in (result.get("multiValueHeaders") or {}).items():
            headers[str(k)] = ", ".join(str(v) for v in values)
        body = result.get("body") or ""
        if not isinstance(body, str):
            return error
        payload = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
        return result["statusCode"], headers, payload

    def _reply(self, req: BaseHTTPRequestHandler, status: int, headers: dict[str, str], payload: bytes,
               started: float) -> None:
        try:
            req.send_response(status)
            for k, v in headers.items():
                if k.lower() not in ("content-length", "connection"):
                    req.send_header(k, v)
            req.send_header("Content-Length", str(len(payload)))
            req.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            req.end_headers()
            if req.command != "HEAD":
                req.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass
        latency = (time.perf_counter() - started) * 1000
        for hook in self.hooks:
            hook(req.command, status, latency)

