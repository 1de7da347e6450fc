"""Jinja filters: money in yuan, masked personal data, Beijing time."""

from __future__ import annotations

from flask import Flask

from billing.clock import to_beijing
from billing.money import format_yuan
from billing.privacy import mask_name, mask_phone


def _beijing(instant, pattern: str = "%Y-%m-%d %H:%M") -> str:
    return to_beijing(instant).strftime(pattern) if instant else ""


# Display names for stored codes; each is translated by _() where shown.
NAMES = {
    "channel_names": {"wechat": "微信支付", "alipay": "支付宝", "counter": "柜台"},
    "method_names": {"cash": "现金", "card": "银行卡"},
    "reason_names": {"duplicate_payment": "重复支付", "account_closure": "销户退费", "overpayment": "多缴退费"},
    "refund_states": {"proposed": "待审批", "approved": "已批准", "submitted": "退款中", "succeeded": "已退款",
                      "failed": "退款失败", "rejected": "已驳回"},
    "decision_names": {"credit": "入账", "refund": "原路退回", "keep": "保留在余额", "acknowledge": "知悉并关闭"},
    "incident_kinds": {"unknown_order": "未知订单的付款", "amount_mismatch": "金额不符", "wrong_channel": "渠道不符",
                       "wrong_merchant": "非本商户通知", "duplicate_payment": "同一订单重复支付",
                       "cash_difference": "现金差额", "transfer_conflict": "账务键冲突"},
    "register_names": {"sharp": "尖", "peak": "峰", "flat": "平", "valley": "谷"},
    "meter_kinds": {"smart": "智能表", "manual": "人工抄表"},
    "read_sources": {"ami": "自动采集", "manual": "人工抄表", "estimated": "估抄", "corrected": "更正"},
    "account_statuses": {"active": "正常", "vacant": "空置", "disconnected": "已停电", "closed": "已销户"},
}


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(yuan=format_yuan, mask_phone=mask_phone, mask_name=mask_name, beijing=_beijing)
    app.jinja_env.globals.update(NAMES)
