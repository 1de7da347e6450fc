"""What each message says, in zh-CN and English, and which messages a recipient may decline.

A template's text names its parameters (``{amount}``); the parameters are strings already formatted
for people (yuan with two decimals, Beijing dates), so the same text serves SMS, WeChat and the
console.  Legally required notices and login codes cannot be opted out of; urgent ones (the login
code, the 30-minute pre-cut notice) are sent even in quiet hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import Formatter

from billing.errors import InvalidInput

ZH, EN = "zh", "en"  # as the portal names them


class TemplateError(InvalidInput):
    """A message that cannot be rendered: unknown kind, or a parameter missing."""


@dataclass(frozen=True)
class Template:
    kind: str
    zh: str
    en: str
    required: bool = False  # the law (or logging in) needs it delivered: no opt-out
    urgent: bool = False  # may go out in quiet hours

    def params(self) -> set[str]:
        return {name for _, name, _, _ in Formatter().parse(self.zh) if name}

    def render(self, lang: str, params: dict[str, str]) -> str:
        missing = sorted(self.params() - params.keys())
        if missing:
            raise TemplateError(missing[0], f"template {self.kind} needs parameter {', '.join(missing)}")
        return (self.en if lang == EN else self.zh).format(**params)


_ALL = (
    Template("bill_issued", "【电费】户号{account_no}{period}电费账单{amount}元，请于{due_date}前缴清。",
             "[Power] Bill for account {account_no}, {period}: {amount} yuan, due {due_date}."),
    Template("due_soon", "【电费】户号{account_no}电费{amount}元将于{due_date}到期，请及时缴纳。",
             "[Power] Account {account_no}: {amount} yuan falls due on {due_date}."),
    Template("overdue", "【电费】户号{account_no}电费{amount}元已于{due_date}逾期，逾期将按日计收违约金。",
             "[Power] Account {account_no}: {amount} yuan was due on {due_date}; late fees accrue daily."),
    Template("late_fee_started", "【电费】户号{account_no}账单{number}已逾期，产生违约金{amount}元。",
             "[Power] Account {account_no}: bill {number} is overdue; a late fee of {amount} yuan was charged."),
    Template("balance_low", "【电费】户号{account_no}余额{balance}元，已低于提醒额度{threshold}元，请及时充值。",
             "[Power] Account {account_no}: balance {balance} yuan, below your {threshold} yuan alert."),
    Template("balance_negative", "【电费】户号{account_no}已欠费{balance}元，请尽快充值，以免停电。",
             "[Power] Account {account_no} is {balance} yuan in arrears; top up to avoid disconnection.",
             required=True),
    Template("disconnection_notice", "【电费】户号{account_no}欠费{amount}元，如{cut_date}前仍未缴清，将依法停止供电。",
             "[Power] Account {account_no} owes {amount} yuan; supply will be cut after {cut_date} if unpaid.",
             required=True),
    Template("pre_cut_notice", "【电费】户号{account_no}将于{cut_time}停止供电，缴清欠费{amount}元后恢复。",
             "[Power] Account {account_no}: supply will be cut at {cut_time}; paying {amount} yuan restores it.",
             required=True, urgent=True),
    Template("disconnected", "【电费】户号{account_no}已于{cut_time}停止供电，缴清欠费后将恢复供电。",
             "[Power] Account {account_no} was disconnected at {cut_time}; paying the arrears restores supply.",
             required=True),
    Template("reconnected", "【电费】户号{account_no}已于{restore_time}恢复供电。",
             "[Power] Supply to account {account_no} was restored at {restore_time}."),
    Template("payment_received", "【电费】户号{account_no}已到账{amount}元，当前余额{balance}元。",
             "[Power] Account {account_no}: {amount} yuan received, balance {balance} yuan."),
    Template("refund_done", "【电费】户号{account_no}退款{amount}元已退回原支付账户。",
             "[Power] Account {account_no}: a refund of {amount} yuan was returned to your payment account."),
    Template("bulk_receipt", "【电费】您为{count}个户号缴费{amount}元已全部到账，回单号{receipt_no}。",
             "[Power] Your payment of {amount} yuan for {count} accounts was credited; receipt {receipt_no}."),
    Template("login_code", "【电费】您的登录验证码为{code}，5分钟内有效，请勿告诉他人。",
             "[Power] Your login code is {code}, valid for 5 minutes. Do not share it.",
             required=True, urgent=True),
)

TEMPLATES: dict[str, Template] = {template.kind: template for template in _ALL}


def template(kind: str) -> Template:
    try:
        return TEMPLATES[kind]
    except KeyError:
        raise TemplateError("kind", f"no template for message kind {kind!r}") from None
