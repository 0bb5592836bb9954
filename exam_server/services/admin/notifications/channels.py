"""The SMS gateway (Alibaba Cloud SMS's signed RPC request) and SMTP e-mail, each raising SendError on failure."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import quote

import requests

# Gateway answers that mean "not sent now, may work later" (flow control, the gateway's own trouble).
RETRYABLE_SMS_CODES = frozenset(
    {"isv.BUSINESS_LIMIT_CONTROL", "Throttling.User", "Throttling", "isp.SYSTEM_ERROR", "ServiceUnavailable"}
)


class SendError(Exception):
    """Raise when a message was not sent: ``retry`` if a later attempt may work, ``uncertain`` if it may have gone."""

    def __init__(self, message: str, *, retry: bool = False, uncertain: bool = False) -> None:
        super().__init__(message)
        self.retry, self.uncertain = retry, uncertain


def percent_encode(value: str) -> str:
    """Encode as the gateway's signature needs: RFC 3986, space as %20, nothing but A-Z a-z 0-9 - _ . ~ left."""
    return quote(value, safe="-_.~")


def sign(params: dict[str, str], secret: str, method: str = "POST") -> str:
    """Return the HMAC-SHA1 signature (version 1.0) of the request parameters."""
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@dataclass(frozen=True)
class SmsGateway:
    """Send template SMS through Alibaba Cloud SMS (Dysmsapi SendSms, API version 2017-05-25) or a compatible gateway."""

    url: str
    access_key_id: str
    access_key_secret: str
    sign_name: str
    region: str = "cn-hangzhou"
    timeout: float = 10.0

    def request_params(self, phone: str, template_code: str, params: dict, out_id: str, now: datetime) -> dict:
        """Return the signed form of one SendSms request."""
        fields = {
            "AccessKeyId": self.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "OutId": out_id,
            "PhoneNumbers": phone,
            "RegionId": self.region,
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "TemplateCode": template_code,
            "TemplateParam": json.dumps(params, ensure_ascii=False, separators=(",", ":")),
            "Timestamp": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }
        fields["Signature"] = sign(fields, self.access_key_secret)
        return fields

    def send(self, phone: str, template_code: str, params: dict, out_id: str, now: datetime) -> str:
        """Send one SMS and return the gateway's BizId, or raise SendError saying whether to retry."""
        form = self.request_params(phone, template_code, params, out_id, now)
        try:
            response = requests.post(self.url, data=form, timeout=(5.0, self.timeout))
        except requests.ConnectTimeout as exc:
            raise SendError(f"短信网关连接超时：{exc}", retry=True) from None
        except requests.ConnectionError as exc:
            raise SendError(f"无法连接短信网关：{exc}", retry=True) from None
        except requests.Timeout:
            raise SendError("短信网关未在时限内答复，短信可能已发出，不再重发以免重复", uncertain=True) from None
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        code = str(answer.get("Code") or f"HTTP {response.status_code}")
        if response.ok and code == "OK":
            return str(answer.get("BizId") or "")
        message = f"短信网关拒绝：{code} {answer.get('Message', '')}".strip()
        raise SendError(message, retry=code in RETRYABLE_SMS_CODES or response.status_code >= 500)


@dataclass(frozen=True)
class Mailer:
    """Send plain-text e-mail through an SMTP server (STARTTLS, implicit TLS or none)."""

    host: str
    port: int
    sender: str
    security: str = "starttls"
    username: str | None = None
    password: str | None = None
    timeout: float = 20.0

    def _connect(self) -> smtplib.SMTP:
        if self.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
        if self.username:
            smtp.login(self.username, self.password or "")
        return smtp

    def send(self, to: str, subject: str, body: str, message_id: str) -> str:
        """Send one message; return its Message-ID, or raise SendError saying whether to retry."""
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, to, subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = message_id  # the same for every attempt, so a receiver can drop a duplicate
        message.set_content(body)
        try:
            smtp = self._connect()
        except smtplib.SMTPResponseException as exc:
            raise SendError(
                f"邮件服务器拒绝连接：{exc.smtp_code} {exc.smtp_error!r}", retry=exc.smtp_code < 500
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise SendError(f"无法连接邮件服务器：{exc}", retry=True) from None
        try:
            with smtp:
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            code = min(code for code, _ in exc.recipients.values())
            raise SendError(f"邮件服务器拒收：{code}", retry=code < 500) from None
        except smtplib.SMTPResponseException as exc:
            raise SendError(f"邮件服务器拒收：{exc.smtp_code} {exc.smtp_error!r}", retry=exc.smtp_code < 500) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise SendError(f"邮件发送中断，可能已送达，不再重发以免重复：{exc}", uncertain=True) from None
        return message_id
