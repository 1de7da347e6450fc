"""SMS through Tencent Cloud SMS (API 2021-01-11) with its official SDK, ``tencentcloud-sdk-python-sms``.

Tencent sends registered templates, not text: a request names one approved ``TemplateId`` and one
ordered ``TemplateParamSet`` for up to 200 numbers.  So a batch is grouped by template and parameter
values: messages with identical content to different people share one request, and the rest
(a login code, a reminder about one 户号) go one request each, several at a time on a small thread
pool so that the provider's answer time does not bound the dispatcher.  Each kind (and language)
maps to a template id from the settings; the parameters go in the order the template's text in
``notifications.templates`` names them, which is how the template was registered with Tencent.

A refusal or an outage is a failed outcome, never an exception (``sms_protocol`` says which can be
retried).  A number that is not a mainland mobile fails at once without asking the provider.  Once a
request meets an outage, or the batch has run for ``batch_seconds``, the batch's remaining requests
are not sent but failed for a retry: a dead or crawling provider must not hold a claimed batch past the
dispatcher's lease, after which another dispatcher would take and send it again.
Delivery reports come from ``PullSmsSendStatus``: ``pull_receipts`` answers one page of them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models
from tencentcloud.sms.v20210111.sms_client import SmsClient

from billing.residents import is_mainland_mobile
from notifications.channels.base import Outcome, Outgoing
from notifications.channels.sms_protocol import MAX_NUMBERS, MAX_PULL, e164, is_outage, outcome, param_order
from notifications.templates import EN, TemplateError, template

@dataclass(frozen=True)
class SmsConfig:
    secret_id: str
    secret_key: str = field(repr=False)
    app_id: str  # SmsSdkAppId, 1400...
    sign_name: str  # the approved 签名, without the 【】
    templates: Mapping[str, str]  # "kind" (zh-CN) or "kind/en" -> TemplateId
    endpoint: str = "https://sms.tencentcloudapi.com"
    region: str = "ap-guangzhou"
    timeout_seconds: int = 10
    workers: int = 8  # requests in flight at once
    batch_seconds: float = 60  # well inside dispatch.LEASE (5 minutes)


@dataclass(frozen=True)
class Receipt:
    provider_ref: str  # the SerialNo SendSms answered
    delivered: bool
    receipt: str  # what the report said: SUCCESS DELIVRD, FAIL MK:0005 ...
    at: datetime


class _Run:
    """One ``send``: whether its remaining requests should still go out."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.outage = ""

    def stopped(self) -> str:
        if self.outage:
            return f"not sent: the provider is out ({self.outage[:150]})"
        return "not sent: the batch ran out of time" if time.monotonic() >= self.deadline else ""


@dataclass
class _Request:
    """One SendSms: a template, its parameter values and the messages (distinct numbers) it carries."""

    template_id: str
    values: list[str]
    messages: list[Outgoing] = field(default_factory=list)
    numbers: set[str] = field(default_factory=set)


class SmsChannel:
    name = "sms"
    batch_size = 1000  # claimed per dispatcher transaction; cut into requests of up to 200 numbers

    def __init__(self, config: SmsConfig) -> None:
        self.config = config
        self._local = threading.local()  # one SDK client (one HTTP session) per thread
        self._pool = ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="sms")

    def send(self, batch: list[Outgoing]) -> list[Outcome]:
        outcomes: dict[int, Outcome] = {}
        requests = []
        for message, content in zip(batch, map(self._content, batch)):
            if isinstance(content, Outcome):
                outcomes[message.message_id] = content
            else:
                requests.append((message, content))
        grouped, run = list(_group(requests)), _Run(self.config.batch_seconds)
        for request, answers in zip(grouped, self._pool.map(lambda request: self._send_one(request, run), grouped)):
            outcomes.update(zip((m.message_id for m in request.messages), answers))
        return [outcomes[message.message_id] for message in batch]

    def _content(self, message: Outgoing) -> tuple[str, list[str]] | Outcome:
        """The template id and ordered parameter values for a message, or why it cannot be sent."""
        if not is_mainland_mobile(message.address):
            # The number stays out of the reason: reasons are counted in `notify dispatch`'s output.
            return Outcome.failed("not a mainland mobile number", retry=False)
        try:
            template_id, text = self._template(message.kind, message.lang)
            return template_id, [str(message.params[name]) for name in param_order(text)]
        except TemplateError as error:
            return Outcome.failed(error.message[:200], retry=False)
        except KeyError as missing:
            return Outcome.failed(f"template {message.kind} needs parameter {missing.args[0]}", retry=False)

    def _template(self, kind: str, lang: str) -> tuple[str, str]:
        """The registered template for a kind in a language, else its Chinese one (a resident who
        reads English still gets the notice), with the text whose parameter order it was registered with."""
        texts = template(kind)
        if lang == EN and f"{kind}/{EN}" in self.config.templates:
            return self.config.templates[f"{kind}/{EN}"], texts.en
        if kind in self.config.templates:
            return self.config.templates[kind], texts.zh
        raise TemplateError("kind", f"no SMS template id configured for {kind}")

    def _send_one(self, request: _Request, run: _Run) -> list[Outcome]:
        if reason := run.stopped():
            return [Outcome.failed(reason, retry=True)] * len(request.messages)
        sms = models.SendSmsRequest()
        sms.SmsSdkAppId, sms.SignName = self.config.app_id, self.config.sign_name
        sms.TemplateId, sms.TemplateParamSet = request.template_id, request.values
        sms.PhoneNumberSet = [e164(m.address) for m in request.messages]
        try:
            statuses = {status.PhoneNumber: status for status in self._client().SendSms(sms).SendStatusSet or []}
        except Exception as error:  # the whole request refused, or no readable answer: never raised
            code, message = _error(error)
            if is_outage(code):
                run.outage = f"{code}: {message}"
            return [outcome(code, message)] * len(request.messages)
        return [_status_outcome(statuses.get(e164(m.address))) for m in request.messages]

    def pull_receipts(self) -> list[Receipt] | Outcome:
        """One page of delivery reports (empty when none wait), or the failure that stopped the pull."""
        pull = models.PullSmsSendStatusRequest()
        pull.SmsSdkAppId, pull.Limit = self.config.app_id, MAX_PULL
        try:
            reports = self._client().PullSmsSendStatus(pull).PullSmsSendStatusSet or []
        except Exception as error:  # an outage: the reports wait at Tencent for the next pull
            return outcome(*_error(error))
        return [Receipt(report.SerialNo, report.ReportStatus == "SUCCESS", f"{report.ReportStatus} {report.Description}",
                        _received_at(report.UserReceiveTime)) for report in reports]

    def _client(self) -> SmsClient:
        client = getattr(self._local, "client", None)
        if client is None:
            url = urlsplit(self.config.endpoint)
            http = HttpProfile(protocol=url.scheme, endpoint=url.netloc, reqTimeout=self.config.timeout_seconds,
                               keepAlive=True)
            credential = Credential(self.config.secret_id, self.config.secret_key)
            client = self._local.client = SmsClient(credential, self.config.region, ClientProfile(httpProfile=http))
        return client

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def _error(error: Exception) -> tuple[str, str]:
    """Tencent's code and message, or the SDK's for a request with no readable answer; anything else
    the SDK lets escape is taken as the provider out of reach."""
    if isinstance(error, TencentCloudSDKException):
        return error.code or "ClientNetworkError", str(error.message)
    return "ClientNetworkError", f"{type(error).__name__}: {error}"


def _received_at(stamp: int | None) -> datetime:
    # A report without the handset's time is dated when we read it.
    return datetime.fromtimestamp(stamp, UTC) if stamp else datetime.now(UTC)


def _status_outcome(status) -> Outcome:
    if status is None:  # an answer without this number's status: we cannot know, so try again later
        return outcome("InternalError", "the answer has no status for this number")
    return outcome(status.Code or "", status.Message or "", status.SerialNo or "")


def _group(requests: list[tuple[Outgoing, tuple[str, list[str]]]]) -> Iterator[_Request]:
    """Messages with the same template and values share a request, up to 200 distinct numbers each
    (a number twice in one request would be sent once or refused, so its second message waits for the next)."""
    open_requests: dict[tuple, list[_Request]] = {}
    for message, (template_id, values) in requests:
        chain = open_requests.setdefault((template_id, *values), [])
        target = next((r for r in chain if message.address not in r.numbers and len(r.messages) < MAX_NUMBERS), None)
        if target is None:
            target = _Request(template_id, values)
            chain.append(target)
        target.messages.append(message)
        target.numbers.add(message.address)
    for chain in open_requests.values():
        yield from chain
