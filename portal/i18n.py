"""Chinese first, English available.

Templates and views write the Chinese text and wrap it in ``_()``; ``translations/en.json`` maps it
to English.  The language comes from ``?lang=``, then the session, then Accept-Language.  Errors
are shown by their stable code (and field), never by the developer's English message.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from flask import Flask, current_app, request, session

LANGUAGES = ("zh", "en")
CATALOG_DIR = Path(__file__).parent / "translations"

# User-facing sentences for error codes; "code.field" wins over "code".
ERROR_TEXT = {
    "invalid_input": "输入有误，请检查后重试",
    "invalid_input.phone": "请输入正确的11位手机号",
    "invalid_input.account_no": "户号应为10位数字",
    "invalid_amount": "金额格式有误，例如 100.00",
    "not_found": "没有找到相关记录",
    "not_found.account_no": "没有找到这个户号",
    "permission_denied": "没有权限执行此操作",
    "permission_denied.code": "验证码错误或已失效，请重新获取",
    "permission_denied.password": "用户名或密码错误",
    "rate_limited": "操作过于频繁，请稍后再试",
    "rate_limited.phone": "验证码发送过于频繁，请稍后再试",
    "transfer_conflict": "账务记录冲突，已通知工作人员核查",
    "database_unavailable": "系统暂时无法访问，请稍后再试",
    "unknown": "操作失败，请稍后再试",
}


@cache
def catalog(language: str) -> dict[str, str]:
    path = CATALOG_DIR / f"{language}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def current_language() -> str:
    requested = request.args.get("lang")
    if requested in LANGUAGES:
        session["lang"] = requested
    chosen = session.get("lang") or request.accept_languages.best_match(LANGUAGES)
    return chosen if chosen in LANGUAGES else current_app.config["DEFAULT_LANGUAGE"]


def gettext(text: str, **values: object) -> str:
    language = current_language()
    translated = text if language == "zh" else catalog(language).get(text, text)
    return translated.format(**values) if values else translated


def error_message(error) -> str:
    key = f"{error.code}.{error.field}" if getattr(error, "field", None) else error.code
    return gettext(ERROR_TEXT.get(key) or ERROR_TEXT.get(error.code) or ERROR_TEXT["unknown"])


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(_=gettext, current_language=current_language)
