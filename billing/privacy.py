"""Masking of personal data in resident-facing pages and in logs (138****0000, 李*荣)."""

from __future__ import annotations


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    if len(phone) < 7:
        return "*" * len(phone)
    return f"{phone[:3]}****{phone[-4:]}"


def mask_name(name: str | None) -> str:
    """Keep the first and last character: 李荣 -> 李*, 李小荣 -> 李*荣, 欧阳小荣 -> 欧**荣."""
    if not name:
        return ""
    if len(name) == 1:
        return name
    if len(name) == 2:
        return f"{name[0]}*"
    return f"{name[0]}{'*' * (len(name) - 2)}{name[-1]}"
