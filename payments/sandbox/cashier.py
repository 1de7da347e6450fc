"""The sandbox cashier page: where a demo user (or a browser test) presses 支付 or 取消."""

from __future__ import annotations

from html import escape

_PAYER = """<label for="payer">付款人（沙箱：换一个名字可模拟另一台手机重复支付）</label>
<input type="text" id="payer" name="payer" value="sandbox-buyer">"""


def cashier_page(*, brand: str, colour: str, merchant: str, description: str, amount_yuan: str, action: str,
                 hidden: dict[str, str] | None = None, notice: str = "", payer_field: bool = True) -> str:
    """``payer_field``: the payer may be named (a QR code or H5 link can be paid by anyone); not for
    JSAPI, whose order names its payer."""
    fields = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in (hidden or {}).items()
    )
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(brand)} · 收银台（沙箱）</title>
<style>
body{{margin:0;font:16px/1.5 -apple-system,"PingFang SC","Microsoft YaHei",sans-serif;background:#f7f7f7;color:#191919}}
header{{background:{colour};color:#fff;padding:14px 16px;font-weight:600}}
main{{max-width:480px;margin:0 auto;padding:16px}}
.card{{background:#fff;border-radius:8px;padding:20px;text-align:center}}
.amount{{font-size:36px;font-weight:600;margin:8px 0}}
.muted{{color:#888;font-size:14px}}
label{{display:block;text-align:left;margin-top:12px;font-size:14px;color:#888}}
input[type=text]{{width:100%;box-sizing:border-box;padding:10px;font-size:16px;border:1px solid #e5e5e5;border-radius:6px}}
button{{width:100%;margin-top:12px;padding:12px;font-size:17px;border:0;border-radius:6px;cursor:pointer}}
.pay{{background:{colour};color:#fff}} .cancel{{background:#f2f2f2;color:#191919}}
</style></head>
<body><header>{escape(brand)} 收银台 · 沙箱</header><main><div class="card">
<p class="muted">{escape(merchant)}</p><p>{escape(description)}</p><p class="amount">¥{escape(amount_yuan)}</p>
{f'<p class="muted">{escape(notice)}</p>' if notice else ''}
<form method="post" action="{escape(action)}">{fields}
{_PAYER if payer_field else ''}
<button class="pay" type="submit" name="action" value="pay">确认支付</button>
<button class="cancel" type="submit" name="action" value="cancel">取消支付</button>
</form></div>
<p class="muted">这是本地沙箱，不会产生真实扣款。</p></main></body></html>"""
