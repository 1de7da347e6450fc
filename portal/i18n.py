"""Chinese first, English available.

Templates and views write the Chinese text and wrap it in ``_()``; ``translations/en.json`` maps it
to English.  The language comes from ``?lang=``, then the session, then Accept-Language.  Errors
are shown by their stable code (and field), never by the developer's English message.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from flask import Flask, current_app, g, request, session

from billing.money import format_yuan

LANGUAGES = ("zh", "en")
CATALOG_DIR = Path(__file__).parent / "translations"

# User-facing sentences for error codes; "code.field" wins over "code".
ERROR_TEXT = {
    "invalid_input": "输入有误，请检查后重试",
    "invalid_input.phone": "请输入正确的11位手机号",
    "invalid_input.account_no": "户号应为10位数字",
    "invalid_input.plan": "该户号已有进行中的还款计划",
    "invalid_input.due_on": "缴费日期须从今天起、按先后顺序逐期填写，例如 2027-01-15",
    "invalid_input.amount": "每期金额须大于零",
    "invalid_input.instalments": "请填写 1 至 12 期",
    "invalid_amount": "金额格式有误，例如 100.00",
    "not_found": "没有找到相关记录",
    "not_found.account_no": "没有找到这个户号",
    "permission_denied": "没有权限执行此操作",
    "login_code_wrong": "验证码错误，还可尝试 {attempts_left} 次",
    "login_code_burnt": "验证码错误次数过多，已失效，请重新获取",
    "login_code_expired": "验证码已失效，请重新获取",
    "permission_denied.password": "用户名或密码错误",
    "rate_limited": "操作过于频繁，请稍后再试",
    "rate_limited.phone": "这个手机号获取验证码过于频繁，请稍后再试",
    "rate_limited.resend": "验证码刚刚已发送，请1分钟后再重新获取",
    "rate_limited.client": "当前网络操作过于频繁，请稍后再试",
    "rate_limited.login": "登录失败次数过多，请{minutes}分钟后再试",
    "transfer_conflict": "账务记录冲突，已通知工作人员核查",
    "database_unavailable": "系统暂时无法访问，请稍后再试",
    "wechat_code_invalid": "微信登录凭证无效或已过期，请重新使用微信登录",
    "wechat_code_used": "微信登录凭证已使用过，请重新使用微信登录",
    "wechat_user_refused": "微信暂不允许此账号登录，请使用手机号登录",
    "wechat_unavailable": "暂时无法连接微信，请稍后再试或使用手机号登录",
    "wechat_link_refused": "微信登录已失效或已绑定其他手机号，请重新使用微信登录",
    "invalid_input.channel": "请选择微信支付或支付宝",
    "invalid_input.file": "文件有误，请检查后重新上传",
    "invalid_input.owing": "筛选范围内没有欠费的户号",
    "invalid_input.sort": "排序方式有误",
    "invalid_input.search": "搜索内容最多 40 个字",
    "invalid_input.manager_label": "标签最多 40 个字",
    "amount_out_of_range": "金额需在 {minimum} 至 {maximum} 元之间",
    "gateway_error": "支付渠道暂时无法受理，请稍后再试",
    "refund_not_allowed": "无法退款：超出可退金额、余额不足或已超过退款期限",
    "refund_not_allowed.amount": "退款金额超出可退金额或余额",
    "permission_denied.staff": "退款需由另一位财务人员审批",
    "refund_not_allowed.channel_txn_id": "这笔款项未入账（有待处理的异常），请在异常处理中原路退回",
    "refund_not_allowed.credited": "这笔暂挂款项已入账到余额，不能再原路退回；如需退款请按余额退款申请",
    "refund_not_allowed.channel": "该支付渠道未配置，无法退款",
    "decision_contradicts": "这个处理与这笔款项已有的处理矛盾，未执行",
    "decision_contradicts.keep": "不能保留在余额：这笔款项的退款已批准、已提交或已退回",
    "decision_contradicts.credit": "不能入账：这笔款项已入账，或正在退款、已退回",
    "decision_contradicts.refund": "不能原路退回：这笔款项已入账到余额，或已在退款中、已退回",
    "decision_contradicts.acknowledge": "不能直接关闭：这笔款项仍在挂账中，请入账到户号或原路退回",
    "order_not_found": "没有找到这笔订单",
    "day_already_closed": "今日已轧账，钱箱已关闭，不能再收费。请由其他收费员收取，或明日再收；如需更正今日账目，请联系财务。",
    "invalid_input.method": "请选择现金或银行卡",
    "invalid_input.counted": "实点现金不能为负数",
    "invalid_amount.counted": "实点现金格式有误，例如 1520.00",
    "invalid_input.what": "请选择缴清欠费或预存其他金额",
    "invalid_input.arrears": "欠费金额已变为 {arrears} 元，请核对后再支付",
    "invalid_input.what_amount": "已选择缴清欠费 {arrears} 元，但又填写了其他金额：缴清欠费请清空金额，预存请选择“预存其他金额”",
    "invalid_input.pick": "请至少勾选一个户号并填写金额",
    "invalid_input.selection": "清单已失效，请重新选择要缴费的户号",
    "permission_denied.manager": "您不是这家物业的成员",
    "meter_change_refused.on": "日期须在 {earliest} 至 {today} 之间：晚于当前表计的装表日，且不早于旧表最后一次示数的日期",
    "meter_change_refused.old_final": "拆表示数 {final} 低于该表 {last_on} 的示数 {last}：表计示数不会倒走，请核对",
    "meter_change_refused.reading": "变更时示数 {final} 低于该表 {last_on} 的示数 {last}：表计示数不会倒走，请核对",
    "meter_change_refused.new_meter_no": "表号 {meter_no} 正在使用中，不能装到这个户号",
    "meter_change_refused.multiplier": "新倍率与当前倍率 {current} 相同，无需变更",
    "meter_change_refused.old_final_registers": "旧表尖峰平谷示数须逐项填写，且之和等于拆表示数 {total}",
    "meter_change_refused.new_initial_registers": "新表尖峰平谷示数须逐项填写，且之和等于起始示数 {total}",
    "meter_change_refused.reading_registers": "尖峰平谷示数须逐项填写，且之和等于变更时示数 {total}",
    "meter_change_refused.account_no": "这个户号没有在用的表计",
    "invalid_input.on": "请选择日期",
    "invalid_input.old_final": "拆表示数应为千瓦时数，最多两位小数，例如 12345.67",
    "invalid_input.new_initial": "新表起始示数应为千瓦时数，最多两位小数，例如 0.00",
    "invalid_input.reading": "示数应为千瓦时数，最多两位小数，例如 12345.67；这一天没有冻结示数时须填写",
    "invalid_input.old_final_registers": "尖峰平谷示数应为千瓦时数，最多两位小数",
    "invalid_input.new_initial_registers": "尖峰平谷示数应为千瓦时数，最多两位小数",
    "invalid_input.reading_registers": "尖峰平谷示数应为千瓦时数，最多两位小数",
    "invalid_input.new_meter_no": "新表表号应为1至24位字母、数字或“-”",
    "invalid_input.new_kind": "请选择新表类型",
    "invalid_input.multiplier": "倍率应为1至{maximum}之间的整数",
    "invalid_input.change_reason": "请填写换表或倍率变更的原因",
    "reading_missing.total": "请填写总示数",
    "reading_missing.sharp": "请填写尖示数",
    "reading_missing.peak": "请填写峰示数",
    "reading_missing.flat": "请填写平示数",
    "reading_missing.valley": "请填写谷示数",
    "reading_format.total": "总示数有误：请照表盘填写数字，如 1234.56，最多两位小数",
    "reading_format.sharp": "尖示数有误：请照表盘填写数字，如 123.45，最多两位小数",
    "reading_format.peak": "峰示数有误：请照表盘填写数字，如 123.45，最多两位小数",
    "reading_format.flat": "平示数有误：请照表盘填写数字，如 123.45，最多两位小数",
    "reading_format.valley": "谷示数有误：请照表盘填写数字，如 123.45，最多两位小数",
    "reading_note_missing": "示数异常：请写明核对情况（例如：已再次核对表盘，户主外出）后再确认保存",
    "read_conflict": "该表这一天已有另一个示数，两者不一致，未保存：请交复核处理",
    "photo_too_large": "照片超过 {limit_mb} MB，请重新拍摄（可调低相机分辨率）",
    "photo_not_image": "照片须为 JPEG 或 PNG 格式的图片，请用相机重新拍摄",
    "unknown": "操作失败，请稍后再试",
    # Binding a 户号 and the resident's settings (billing/bindings.py, notifications/preferences.py).
    "binding_proof_wrong": "户号与验证信息不匹配，请核对后重试",
    "binding_proof_wrong.id_tail": "户号与户主身份证号后四位不匹配，请核对后重试",
    "binding_proof_wrong.meter_no": "户号与电表表号不匹配，请核对后重试",
    "rate_limited.resident": "验证信息填错次数过多，请1小时后再试",
    "rate_limited.account_no": "这个户号的验证失败次数过多，请稍后再试",
    "binding_exists": "这个户号已经绑定在您的账号下",
    "binding_limit": "最多绑定 {maximum} 个户号，请先解除不再使用的户号",
    "binding_not_found": "没有找到这个户号",
    "invalid_input.proof": "请填写户主身份证号后四位或电表表号（其中一项）",
    "invalid_input.id_tail": "身份证号后四位应为4个字符：数字，最后一位可以是X",
    "invalid_input.meter_no": "电表表号应为1至24位字母、数字或“-”",
    "invalid_input.label": "备注最多 {maximum} 个字",
    "invalid_input.balance_low": "提醒金额应为 0 至 {maximum} 元，例如 30.00",
    "invalid_input.quiet_from_hour": "请选择免打扰的开始时间（0 至 23 点）",
    "invalid_input.quiet_until_hour": "请选择免打扰的结束时间；与每晚 22:00 至 08:00 合起来不能占满全天",
    # The review queue (复核), account histories and error assessment.
    "not_found.item": "没有找到这条复核事项",
    "review_item_closed": "这条事项已经处理过了，本次操作没有执行，请查看处理记录",
    "below_previous_read": "示数 {value} 低于 {day} 的示数 {held}，用电量将为负，未更正",
    "above_next_read": "示数 {value} 高于 {day} 的示数 {held}，之后的用电量将为负，未更正",
    "above_next_read.estimate": "估抄示数 {value} 高于 {day} 的示数 {held}，之后的用电量将为负，不能估抄；请更正示数或派发复抄",
    "below_previous_read.estimate": "估抄示数 {value} 低于 {day} 的示数 {held}，不能估抄；请更正示数或派发复抄",
    "cannot_estimate": "历史示数不足，无法估抄；请更正示数或派发复抄",
    "invalid_input.value": "请填写更正后的示数（kWh，最多两位小数），例如 12345.67",
    "invalid_input.register": "时段示数应为 kWh，最多两位小数，例如 4567.89",
    "invalid_input.registers": "分时电表请填写每个时段的示数，且各时段之和应等于总示数",
    "invalid_input.reason": "更正示数必须填写原因",
    "invalid_input.reader": "请选择一位在岗的抄表员",
    "invalid_input.action": "这条事项不能这样处理",
    "invalid_input.district": "台区筛选有误，请重新选择",
    "invalid_input.age": "等待天数筛选有误，请重新选择",
    "invalid_input.rule": "规则筛选有误，请重新选择",
    "invalid_input.page": "页码有误",
    "invalid_input.q": "请输入户号、户名、手机号或表号（最多40个字符；只输入数字时至少4位）",
    "invalid_input.actor": "操作人筛选有误，请从列表中选择",
    "invalid_input.audit_action": "操作筛选有误，请从列表中选择",
    "invalid_input.from": "起始日格式应为 2026-11-30",
    "invalid_input.to": "截止日格式应为 2026-11-30，且不早于起始日",
    "invalid_input.month": "月份格式应为 2026-11",
    "invalid_input.date": "日期格式应为 2026-11-30",
    # Held bills (复核 of the bill run's holds).
    "bill_not_allowed": "账单已不是暂挂状态（已出账或已作废），本次操作没有执行，请刷新页面查看",
    "invalid_input.cancel_reason": "请填写作废原因（1 至 400 字），账单没有作废",
    # 作废 and 重开 on the account page.
    "bill_not_allowed.bill_state": "只能作废已出账的账单、重开已作废的账单：本次操作没有执行，请刷新页面查看账单现状",
    "bill_not_allowed.replaces_bill_id": "这张账单已经重开过，不能再次重开",
    "read_missing": "计费周期的起止示数缺失（{day}），请先补录或估抄后再重开",
    "negative_use": "计费周期内示数倒走，请先在复核中处理示数后再重开",
    "invalid_input.item": "这条事项不是暂挂账单，不能批准出账或作废重算",
    # 违约金减免 (late-fee waivers).
    "invalid_input.bill_id": "账单应填写账单ID（如 123）或账单编号（如 2026-000123）",
    "not_found.bill_id": "没有找到这张账单，请核对账单ID或账单编号",
    "invalid_input.waiver_amount": "减免金额应大于 0，且不超过这张账单已计收未减免的违约金",
    "invalid_amount.waiver_amount": "减免金额格式有误，例如 10.00",
    "invalid_input.waiver_reason": "请填写减免原因（1 至 400 字），申请没有提交",
    "waiver_not_allowed.bill_id": "这张账单已有一项减免申请等待审批，请先处理那一项",
    "waiver_not_allowed.state": "这项减免申请已经审批过，本次操作没有执行，请刷新页面查看",
    "waiver_not_allowed.waiver_amount": "账单上未减免的违约金已少于申请的减免金额，请驳回后重新申请",
    "permission_denied.approver": "违约金减免需由申请人以外的另一位工作人员审批",
    "not_found.waiver_id": "没有找到这项减免申请",
    # 对账 exceptions queue (payments/differences.py, payments/write_offs.py).
    "not_found.difference_id": "没有找到这条对账差异",
    "difference_closed.difference_id": "这条差异已经处理完毕（已平账、已核销或已退款），本次操作没有执行，请刷新页面查看",
    "invalid_input.write_off_reason": "请填写核销原因（1 至 400 字），申请没有提交",
    "invalid_input.write_off_amount": "核销金额须等于差异金额 {difference} 元，申请没有提交",
    "invalid_amount.write_off_amount": "核销金额格式有误，例如 10.00",
    "write_off_not_allowed.kind": "这类差异不能核销：金额不符、重复支付和状态不符请查询补账或退款，退款差异由退款处理",
    "write_off_not_allowed.incident": "这笔款项已作为支付异常暂挂，请在“异常”中入账到户号或原路退回，不能核销",
    "write_off_not_allowed.state": "这项核销正在等待审批或已经审批过，本次操作没有执行，请刷新页面查看",
    "permission_denied.write_off_approver": "不能审批自己申请的核销，须由另一位工作人员审批",
    "not_found.write_off_id": "没有找到这项核销申请",
    "not_healed.kind": "这类差异不能通过查询补账，请退款、核销或备注",
    "not_healed.query": "渠道的查询结果没有把这笔钱入到余额（仍暂挂或交易不符），差异仍待处理",
    "refund_not_allowed.kind": "只有重复支付和状态不符的收款差异可以从这里退款",
    "refund_not_allowed.query": "这笔款项还没有入账，请先查询补账",
    "invalid_input.note": "请填写备注（1 至 400 字），备注没有保存",
    "invalid_input.day": "日期格式应为 2026-12-01",
    "invalid_input.kind": "请从列表中选择差异类型",
    "invalid_input.status": "请从列表中选择处理状态",
    "invalid_input.filter_channel": "请从列表中选择渠道",
    # 坏账与核销 (billing/bad_debt.py).
    "invalid_input.bad_debt_reason": "请填写标记坏账的原因（1 至 400 字），没有标记",
    "bad_debt_not_allowed.candidate": "只有催费流程已走完的户号（已停电且欠费逾期超过 {after_days} 天，或已销户而最终账单未缴）可以标记坏账",
    "bad_debt_not_allowed.account_no": "这个户号的欠费已标记为坏账",
    "bad_debt_not_allowed.state": "这项核销正在等待审批或已经审批过，本次操作没有执行，请刷新页面查看",
    "bad_debt_not_allowed.bad_debt": "这笔坏账已不在待核销状态（已核销，或欠费已缴清），本次操作没有执行",
    "not_found.bad_debt_id": "没有找到这笔坏账",
    "not_found.bad_debt_decision": "审批操作只能是批准或驳回",
    # The mini-program API (portal/api).
    "invalid_input.body": "请求内容应为 JSON 对象",
    "invalid_input.limit": "limit 应为 1 至 {maximum} 之间的整数",
    "invalid_input.cursor": "分页游标无效，请从第一页重新获取",
    "invalid_input.amount_fen": "金额应为以分为单位的整数，例如 10000 表示 100.00 元",
    "invalid_amount.amount_fen": "金额应为以分为单位的整数，例如 10000 表示 100.00 元",
    "amount_out_of_range.amount_fen": "金额需在 {minimum} 至 {maximum} 元之间",
    "invalid_input.shown_arrears_fen": "请填写页面显示的欠费金额（分）",
    "wechat_login_required": "在小程序中使用微信支付，请先通过微信登录",
    "rate_limited.token": "操作过于频繁，请稍后再试",
    "permission_denied.wechat": "暂未开通微信登录，请使用手机号登录",
}

# Error pages by HTTP status: a title and one sentence; anything else falls back to 0.
HTTP_TEXT = {
    400: ("请求无法处理", "页面可能已过期，或提交的内容不完整。请返回后刷新页面再试。"),
    401: ("需要登录", "请先登录，或登录已过期，请重新登录。"),
    403: ("没有权限", "您的账号没有权限打开这个页面或执行这个操作。"),
    404: ("页面不存在", "没有找到这个页面，链接可能有误或已失效。"),
    405: ("无法这样访问", "这个地址不能直接打开，请从页面上的按钮或链接进入。"),
    409: ("操作冲突", "记录已被其他操作改变，请返回后刷新页面再试。"),
    413: ("内容过大", "提交的内容或文件太大，请缩小后重试。"),
    415: ("格式不支持", "请以 JSON 格式（Content-Type: application/json）提交。"),
    429: ("操作过于频繁", "请稍等片刻再试。"),
    500: ("系统出错了", "这次操作没有完成，问题已记录，请稍后再试。"),
    502: ("渠道暂时无法访问", "支付渠道暂时无法受理，请稍后再试。"),
    503: ("暂时无法访问", "系统暂时无法访问，请稍后再试。"),
    0: ("请求没有完成", "请返回后重试。"),
}


def http_text(status: int) -> tuple[str, str]:
    """The title and sentence of an error page, in the reader's language."""
    title, sentence = HTTP_TEXT.get(status, HTTP_TEXT[0])
    return gettext(title), gettext(sentence)


@cache
def catalog(language: str) -> dict[str, str]:
    path = CATALOG_DIR / f"{language}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def current_language() -> str:
    """The reader's language, worked out once per request (a long table asks for it per cell).  The API
    keeps no session: it is told on every call (``?lang=``, Accept-Language)."""
    if "language" not in g:
        requested = request.args.get("lang")
        if request.path.startswith("/api/"):
            kept = requested if requested in LANGUAGES else None
        else:
            if requested in LANGUAGES:
                session["lang"] = requested
            kept = session.get("lang")
        chosen = kept or request.accept_languages.best_match(LANGUAGES)
        g.language = chosen if chosen in LANGUAGES else current_app.config["DEFAULT_LANGUAGE"]
    return g.language


def translate(language: str, text: str, **values: object) -> str:
    """``text`` in ``language``, its placeholders filled: for what is made outside a request (a PDF)."""
    translated = text if language == "zh" else catalog(language).get(text, text)
    return translated.format(**values) if values else translated


def gettext(text: str, **values: object) -> str:
    return translate(current_language(), text, **values)


def error_message(error) -> str:
    key = f"{error.code}.{error.field}" if getattr(error, "field", None) else error.code
    text = ERROR_TEXT.get(key) or ERROR_TEXT.get(error.code) or ERROR_TEXT["unknown"]
    return gettext(text, **_shown(getattr(error, "params", {})))


BULK_PROBLEMS = {
    "encoding": "文件编码无法识别，请另存为 UTF-8 或 GBK 编码的 CSV",
    "empty": "文件中没有数据",
    "too_many_lines": "超过 {limit} 行，请分批上传",
    "columns": "应为两列：户号,金额（这一行有 {found} 列）",
    "account_no_format": "户号 {account_no} 格式有误，应为10位数字",
    "account_not_managed": "户号 {account_no} 不属于本物业",
    "account_repeated": "户号 {account_no} 与第 {first_line} 行重复",
    "amount_format": "金额 {amount} 格式有误，例如 100.00",
    "amount_range": "金额 {amount} 超出单户限额",
    "amount_missing": "已勾选，请填写金额",
    "too_large": "文件超过 {limit_kb} KB（从这一行起），不是批量缴费文件，请检查后分批上传",
    "nul": "含有空字符，可能不是 CSV 文件：请在 Excel 中另存为“CSV UTF-8（逗号分隔）”后上传",
    "line_too_long": "这一行超过 {limit} 个字符，应为：户号,金额",
    "quote": "引号不成对，请检查这一行",
}


def bulk_problem(line: int, code: str, values: dict) -> str:
    """One bad line of a bulk-payment file, as the manager reads it: 第3行：户号 … 不属于本物业."""
    return gettext("第{line}行：{problem}", line=line, problem=gettext(BULK_PROBLEMS[code], **values))


COUNTER_PROBLEMS = {
    "empty": "请至少填写一行户号和金额",
    "account_missing": "请填写户号",
    "account_no_format": BULK_PROBLEMS["account_no_format"],
    "account_unknown": "户号 {account_no} 不存在",
    "account_repeated": "户号 {account_no} 与第{first_line}行重复，同一户号请合并为一行",
    "amount_missing": "请填写金额",
    "amount_format": BULK_PROBLEMS["amount_format"],
    "amount_range": "金额 {amount} 元不在单户 {minimum} 至 {maximum} 元之间",
    "receipt_total": "本张收据合计 {total} 元，超过柜台单张收据上限 {maximum} 元，请分开收费",
}


def counter_problem(row: int | None, code: str, values: dict) -> str:
    """One bad row of the counter form (第2行：户号 … 不存在), or a problem of the whole receipt."""
    problem = gettext(COUNTER_PROBLEMS[code], **_shown(values))
    return problem if row is None else gettext("第{row}行：{problem}", row=row, problem=problem)


def _shown(params: dict) -> dict:
    """Message values as people read them: ``minimum_fen=100`` becomes ``minimum="1.00"``."""
    return {key.removesuffix("_fen"): format_yuan(value) if key.endswith("_fen") else value for key, value in params.items()}


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(_=gettext, current_language=current_language)
