"""Jinja filters: money in yuan, energy in kWh, rates in percent, masked personal data, Beijing time,
and the display names of stored codes."""

from __future__ import annotations

from flask import Flask

from billing.clock import to_beijing
from billing.kwh import format_kwh
from billing.money import format_yuan, round_half_up
from billing.privacy import mask_name, mask_phone
from portal.i18n import gettext


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
    # Review queue: the rule codes of billing/read_rules.py (an unknown code is shown as itself).
    "rule_names": {"high_use": "电量突增", "low_use": "电量突减", "negative_use": "示数倒走（负电量）",
                   "rollover": "示数翻转", "zero_use": "连续零电量", "vacant_use": "空置户有用电",
                   "disconnected_use": "停电户有用电", "closed_use": "销户后有用电", "prepaid_not_cut": "欠费未断电",
                   "out_of_order": "示数日期乱序", "duplicate_read": "重复示数", "tou_sum": "分时示数之和不等于总示数",
                   "ami_gap": "采集缺数", "out_of_range": "超出预期范围", "loss_negative": "台区负线损",
                   "loss_high": "台区线损率超限", "reader_confirmed_out_of_range": "抄表员确认的异常示数"},
    "review_kinds": {"read": "抄表异常", "bill": "账单暂挂"},
    "review_actions": {"accept": "确认无误", "correct": "更正示数", "reread": "现场复抄", "estimate": "估抄"},
    "audit_actions": {"review.accept": "确认无误", "review.correct": "更正示数", "review.estimate": "估抄",
                      "review.reread": "复抄完成", "review.reread_ordered": "派发复抄", "review.reread_returned": "复抄示数不符"},
    "read_sources": {"ami": "采集", "manual": "人工抄表", "estimated": "估抄", "corrected": "更正"},
    "read_statuses": {"valid": "有效", "superseded": "已替代"},
    "register_names": {"total": "总", "sharp": "尖", "peak": "峰", "flat": "平", "valley": "谷"},
    # The evidence a rule writes into an item's detail (unknown keys are shown as themselves).
    "detail_names": {"used_wh": "期间用电量", "daily_wh": "日用电量", "average_wh": "日均用电量",
                     "last_year_wh": "去年同期日均", "previous_wh": "上次示数", "total_wh": "本次示数",
                     "registers_wh": "各时段示数之和", "days": "天数", "threshold": "阈值", "ratio": "倍数",
                     "supply_wh": "供电量", "customers_wh": "用户用电量", "loss_wh": "损失电量",
                     "balance_fen": "余额（分）", "status": "户状态", "note": "抄表员备注",
                     "unusual": "异常情况", "low_wh": "预计范围下限", "high_wh": "预计范围上限",
                     "expected_wh": "预计示数", "previous_on": "上次抄表日"},
}


def percent(part: int, whole: int) -> str:
    """``part`` of ``whole`` as a percentage to two decimals, half-up ("1.25%"); "—" without a whole."""
    if not whole:
        return "—"
    hundredths = round_half_up(part * 10_000, whole)
    sign, (units, decimals) = "-" if hundredths < 0 else "", divmod(abs(hundredths), 100)
    return f"{sign}{units}.{decimals:02d}%"


def name_of(table: str, code: str | None) -> str:
    """A stored code by its display name (translated), or as itself if the table does not know it."""
    return gettext(NAMES[table][code]) if code in NAMES[table] else code or ""


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(yuan=format_yuan, mask_phone=mask_phone, mask_name=mask_name, beijing=_beijing,
                                 kwh=format_kwh, percent=percent)
    app.jinja_env.globals.update(name_of=name_of)
    app.jinja_env.globals.update(NAMES)
