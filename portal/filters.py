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
    "channel_names": {"wechat": "微信支付", "alipay": "支付宝", "counter": "柜台", "manager": "物业代缴"},
    "method_names": {"cash": "现金", "card": "银行卡"},
    "reason_names": {"duplicate_payment": "重复支付", "account_closure": "销户退费", "overpayment": "多缴退费"},
    "refund_states": {"proposed": "待审批", "approved": "已批准", "submitted": "退款中", "succeeded": "已退款",
                      "failed": "退款失败", "rejected": "已驳回"},
    "decision_names": {"credit": "入账", "refund": "原路退回", "keep": "保留在余额", "acknowledge": "知悉并关闭"},
    "incident_kinds": {"unknown_order": "未知订单的付款", "amount_mismatch": "金额不符", "wrong_channel": "渠道不符",
                       "wrong_merchant": "非本商户通知", "duplicate_payment": "同一订单重复支付",
                       "cash_difference": "现金差额", "transfer_conflict": "账务键冲突"},
    # Review queue: the rule codes of billing/read_rules.py RULES, a reader's confirmed unusual read
    # (billing/manual_reads.py) and the bill run's holds (billing/bill_drafts.py); an unknown code is
    # shown as itself.
    "rule_names": {"high_use": "电量突增", "low_use": "电量突减", "negative_use": "示数倒走（负电量）",
                   "rollover": "示数翻转", "meter_change": "换表缺示数", "zero_use": "连续零电量",
                   "inactive_use": "空置、停电或销户仍用电", "prepaid_no_cut": "欠费未断电",
                   "used_while_cut": "停电后仍计量用电",
                   "out_of_order": "示数日期乱序", "duplicate_read": "重复示数", "tou_mismatch": "分时示数之和不等于总示数",
                   "ami_gap": "采集缺数", "year_high": "同比突增", "year_low": "同比突减",
                   "loss_negative": "台区负线损", "loss_high": "台区线损率超限", "loss_negative_month": "台区月度负线损",
                   "loss_high_month": "台区月度线损率超限", "reader_confirmed_out_of_range": "抄表员确认的异常示数",
                   "first_bill": "首次出账", "final_bill": "销户末次账单", "estimated_read": "估抄出账",
                   "negative_bill": "负金额账单", "high_amount": "金额异常偏高",
                   "open_read_finding": "存在未处理的抄表异常"},
    "review_kinds": {"read": "抄表异常", "bill": "账单暂挂"},
    # 对账 (payments/reconciliation_records.py, payments/write_offs.py) and the evidence kept with a difference.
    "difference_kinds": {"channel_only": "长款（渠道有、账上无）", "ledger_only": "短款（账上有、渠道无）",
                         "amount_mismatch": "金额不符", "status_mismatch": "状态不符", "duplicate_payment": "同一订单重复支付"},
    "difference_statuses": {"open": "待处理", "healed": "已平账", "written_off": "已核销", "refunded": "已退款"},
    "difference_actions": {"heal_difference": "查询补账", "refund_difference": "发起退款", "note_difference": "备注",
                           "request_write_off": "申请核销", "approve_write_off": "批准核销", "reject_write_off": "驳回核销"},
    "write_off_states": {"requested": "待审批", "approved": "已批准", "rejected": "已驳回"},
    "order_states": {"created": "已创建", "paying": "支付中", "paid": "已支付", "closed": "已关闭", "failed": "支付失败"},
    "payment_outcomes": {"credited": "已入账", "duplicate": "重复支付（已入账）", "held": "暂挂待处理"},
    "report_sources": {"notify": "支付通知", "query": "主动查询", "counter": "柜台"},
    "line_kinds": {"payment": "收款", "refund": "退款"},
    "transfer_codes": {"payment": "缴费入账", "held": "暂挂", "unhold": "解除暂挂", "refund": "退款", "fee": "手续费",
                       "write_off": "核销", "counter": "柜台收费", "bulk": "物业批量缴费",
                       "bill": "电费账单", "bill_cancel": "账单作废冲回", "daily": "智能交费日结", "energy": "电费",
                       "opening": "期初余额"},
    "review_actions": {"accept": "确认无误", "correct": "更正示数", "reread": "现场复抄", "estimate": "估抄",
                       "approve": "批准出账", "cancel": "作废重算"},
    "audit_actions": {"review.accept": "确认无误", "review.correct": "更正示数", "review.estimate": "估抄",
                      "review.reread": "复抄完成", "review.reread_ordered": "派发复抄", "review.reread_returned": "复抄示数不符",
                      "review.approve": "批准出账", "review.cancel": "作废重算",
                      "agree_payment_plan": "约定还款计划", "approve_refund": "批准退款", "reject_refund": "驳回退款",
                      "approve_waiver": "批准减免", "refuse_waiver": "驳回减免", "approve_write_off": "批准核销",
                      "reject_write_off": "驳回核销", "cancel_bill": "作废账单", "close_cash_day": "日终轧账",
                      "counter_payment": "柜台收费", "heal_difference": "查询补账", "issue_bill": "出账",
                      "meter_change": "换表", "multiplier_change": "倍率变更", "note_difference": "差异备注",
                      "rebill": "重开账单", "refund_difference": "差异退款", "request_refund": "申请退款",
                      "request_waiver": "申请减免", "request_write_off": "申请核销", "resolve_incident": "处理异常",
                      "supply_order_confirmed": "确认停复电"},
    "bill_states": {"held": "暂挂待审核", "issued": "已出账", "cancelled": "已作废"},
    "read_sources": {"ami": "采集", "manual": "人工抄表", "estimated": "估抄", "corrected": "更正"},
    "read_statuses": {"valid": "有效", "superseded": "已替代"},
    "register_names": {"total": "总", "sharp": "尖", "peak": "峰", "flat": "平", "valley": "谷"},
    "meter_kinds": {"smart": "智能表", "manual": "人工抄表"},
    "account_statuses": {"active": "正常", "vacant": "空置", "disconnected": "已停电", "closed": "已销户"},
    # The account story's dunning, supply orders and plans (billing/dunning_records.py,
    # billing/supply_order_records.py, billing/payment_plans.py)
    "dunning_steps": {"bill_due_soon": "到期提醒", "bill_overdue": "已逾期", "disconnection_notice": "已发停电通知",
                      "protected_hold": "保护用户，待人工处理", "call_task": "待电话告知", "notice_undelivered": "通知未送达",
                      "pre_cut_notice": "已发停电前提醒", "disconnection_ordered": "已下停电指令",
                      "arrears_cleared": "欠费已结清", "reconnection_ordered": "已下复电指令"},
    "supply_kinds": {"cut": "停电", "restore": "复电"},
    "supply_methods": {"remote": "远程", "field": "现场"},
    "supply_states": {"pending": "待执行", "sent": "已下发", "confirmed": "已完成", "failed": "失败待重试",
                      "escalated": "已升级人工", "cancelled": "已撤销"},
    "plan_states": {"active": "进行中", "kept": "已履行", "broken": "已违约"},
    # The evidence the rules write into an item's detail (billing/read_findings.py and a
    # reader's confirmed unusual read, billing/manual_reads.py; unknown keys are shown as themselves).
    "detail_names": {"previous_on": "上次抄表日", "previous_wh": "上次示数", "read_on": "本次抄表日", "read_wh": "本次示数",
                     "next_on": "下次抄表日", "next_wh": "下次示数", "drop_wh": "示数下降", "multiplier": "倍率",
                     "register_max_wh": "表计最大示数", "used_wh": "期间用电量", "days": "天数", "daily_wh": "日用电量",
                     "average_wh": "日均用电量", "average_from": "日均起算日", "average_days": "日均天数",
                     "threshold_percent": "阈值（%）", "threshold_days": "阈值（天）", "earlier_wh": "此前最高示数",
                     "since": "起始日", "zero_days": "零电量天数", "status": "户状态", "idle_wh": "视为无用电的日用电量",
                     "month": "月份", "last_year_wh": "去年同月用电量", "estimated": "含估抄", "balance_fen": "余额（分）",
                     "negative_since": "欠费起始日", "from_on": "起算抄表日", "from_wh": "起算示数",
                     "sharp_wh": "尖", "peak_wh": "峰", "flat_wh": "平", "valley_wh": "谷",
                     "registers_wh": "各时段示数之和", "difference_wh": "差额", "tolerance_wh": "容差",
                     "missing_days": "缺数天数", "old_meter": "旧表表号", "new_meter": "新表表号",
                     "old_multiplier": "原倍率", "new_multiplier": "新倍率", "final_on": "拆表日", "final_wh": "拆表示数",
                     "initial_on": "装表日", "initial_wh": "装表示数", "other_meter": "示数相同的表号",
                     "matching_days": "示数相同的日期", "supply_wh": "供电量",
                     "customers_wh": "用户用电量", "loss_wh": "损失电量", "rate_bp": "线损率（万分之）",
                     "complete": "数据完整", "note": "抄表员备注",
                     "unusual": "异常情况", "total_wh": "本次示数", "low_wh": "预计范围下限", "high_wh": "预计范围上限",
                     "expected_wh": "预计示数",
                     # a held bill's (billing/bill_drafts.py)
                     "average_fen": "近期账单平均金额", "bills_averaged": "参与平均的账单数",
                     "open_read_findings": "未处理的抄表异常（条）", "tariff": "电价",
                     # the audit log's before and after (billing/audit_log.py)
                     "amount_fen": "金额", "state": "状态", "reason": "原因", "method": "方式", "accounts": "户号",
                     "debit": "扣款账户", "number": "账单号", "total_fen": "账单金额", "due_date": "到期日",
                     "meter_no": "表号", "installed_on": "装表日", "assigned_to": "复抄人员"},
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
