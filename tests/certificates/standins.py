"""Local stand-ins the reminder tests start: an SMS gateway that checks the request signature, and an SMTP server.

The gateway implements the signature check from the gateway's documentation itself (not with the code
under test): parameters sorted, RFC 3986 encoded, "POST&%2F&" + encoded query, HMAC-SHA1 keyed with
secret + "&", base64. It refuses a bad signature, a stale timestamp and a reused nonce as the real one does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

KEY_ID, SECRET = "LTAI-test-key", "test-secret-为签名"


def _encode(value: str) -> str:
    return urllib.parse.quote(value, safe="~").replace("%7E", "~").replace("+", "%20").replace("*", "%2A")


def expected_signature(params: dict[str, str], secret: str) -> str:
    query = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(params.items()) if k != "Signature")
    to_sign = "POST&" + _encode("/") + "&" + _encode(query)
    return base64.b64encode(hmac.new((secret + "&").encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


class SmsGatewayStandIn:
    """A SendSms endpoint on 127.0.0.1 recording accepted messages; ``fail`` queues answers to give first."""

    def __init__(self) -> None:
        self.accepted: list[dict] = []
        self.refused: list[tuple[str, dict]] = []
        self.fail: list[tuple[int, str]] = []  # (HTTP status, Code) answers to give before accepting again
        self.delay = 0.0
        self.nonces: set[str] = set()
        self.clock = lambda: datetime.now(UTC)
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in urllib.parse.parse_qs(self.rfile.read(length).decode()).items()}
                status, answer = stand_in.answer(form)
                if stand_in.delay:
                    time.sleep(stand_in.delay)
                body = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, form: dict[str, str]) -> tuple[int, dict]:
        request_id = f"req-{len(self.accepted) + len(self.refused)}"
        problem = self._problem(form)
        if problem:
            self.refused.append((problem, form))
            return 400, {"Code": problem, "Message": problem, "RequestId": request_id}
        self.nonces.add(form["SignatureNonce"])
        if self.fail:
            status, code = self.fail.pop(0)
            self.refused.append((code, form))
            return status, {"Code": code, "Message": "stand-in failure", "RequestId": request_id}
        self.accepted.append(form)
        return 200, {"Code": "OK", "Message": "OK", "BizId": f"biz-{len(self.accepted)}", "RequestId": request_id}

    def _problem(self, form: dict[str, str]) -> str | None:
        required = ("AccessKeyId", "Action", "PhoneNumbers", "SignName", "TemplateCode", "Timestamp", "Signature")
        if any(not form.get(k) for k in required) or form.get("Action") != "SendSms":
            return "MissingParameter"
        if form["AccessKeyId"] != KEY_ID:
            return "InvalidAccessKeyId.NotFound"
        if form.get("SignatureMethod") != "HMAC-SHA1" or form.get("SignatureVersion") != "1.0":
            return "InvalidSignatureMethod"
        if not hmac.compare_digest(form["Signature"], expected_signature(form, SECRET)):
            return "SignatureDoesNotMatch"
        sent = datetime.strptime(form["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        if abs(self.clock() - sent) > timedelta(minutes=15):
            return "InvalidTimeStamp.Expired"
        if form["SignatureNonce"] in self.nonces:
            return "SignatureNonceUsed"
        json.loads(form.get("TemplateParam") or "{}")
        return None

    def __enter__(self) -> SmsGatewayStandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmtpStandIn:
    """An SMTP server on 127.0.0.1 (aiosmtpd) recording messages; ``fail`` queues replies to DATA to give first."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.fail: list[str] = []
        stand_in = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
                if stand_in.fail:
                    return stand_in.fail.pop(0)
                stand_in.messages.append({"to": envelope.rcpt_tos, "data": envelope.content})
                return "250 Message accepted for delivery"

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpStandIn:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()
