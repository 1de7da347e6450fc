"""The WeChat apps' settings: production refuses the local WeChat simulator and gets the real WeChat
hosts; an app needs its id and secret together; the demo uses the simulator's own apps."""

import pytest

from notifications.channels.wechat import API_ROOT, FIELDS
from portal.sandbox import SANDBOX_WECHAT
from portal.wechat.client import OAUTH_ROOT
from portal.wechat.wiring import build_wechat_channels, build_wechat_login
from portal.config import load_settings
from tests.unit.test_config import PRODUCTION, problems

OA = {"DIANFEI_WECHAT_OA_APPID": "wx0123456789abcdef", "DIANFEI_WECHAT_OA_SECRET": "0123456789abcdef0123456789abcdef"}


def test_production_refuses_the_wechat_simulator():
    [line] = problems(PRODUCTION | {"DIANFEI_WECHAT_SANDBOX": "true"})
    assert line == ("DIANFEI_WECHAT_SANDBOX: must be false when DIANFEI_ENV=production "
                    "(anyone could log in as any WeChat user of the simulator)")


def test_production_logs_in_and_sends_through_the_real_wechat_only():
    settings = load_settings(PRODUCTION | OA | {"DIANFEI_WECHAT_OA_TEMPLATES": "bill_issued=TMPL-1"})
    assert settings.WECHAT_SANDBOX is False
    login = build_wechat_login(settings)
    assert login.offers("oa") and not login.offers("mini")
    assert (login.api_root, login.oauth_root) == (API_ROOT, OAUTH_ROOT)
    assert login.authorize_url("https://dianfei.example.cn/login/wechat/callback", "s1").startswith(
        "https://open.weixin.qq.com/connect/oauth2/authorize?appid=wx0123456789abcdef&")
    [channel] = build_wechat_channels(settings).values()
    assert channel.client.API_BASE_URL == f"{API_ROOT}/cgi-bin/" and channel.template_ids == {"bill_issued": "TMPL-1"}
    assert not build_wechat_login(load_settings(PRODUCTION)).apps  # nothing configured: no WeChat login


@pytest.mark.parametrize("given", [{"DIANFEI_WECHAT_MINI_APPID": "wx1"}, {"DIANFEI_WECHAT_MINI_SECRET": "s"}])
def test_an_app_needs_its_id_and_secret_and_pays_as_the_official_account(given, tmp_path):
    assert problems(given, {"INSTANCE_PATH": str(tmp_path)}) == [
        "DIANFEI_WECHAT_MINI_APPID, DIANFEI_WECHAT_MINI_SECRET: set both or neither"]
    assert problems(OA | {"DIANFEI_WECHAT_OA_TEMPLATES": "bill=1"}, {"INSTANCE_PATH": str(tmp_path)}) == [
        "DIANFEI_WECHAT_OA_TEMPLATES: 'bill' is not a message kind"]
    assert problems(OA | {"DIANFEI_WECHATPAY_APPID": "wx-another-app"}, {"INSTANCE_PATH": str(tmp_path)}) == [
        "DIANFEI_WECHATPAY_APPID: must be DIANFEI_WECHAT_OA_APPID (a JSAPI payment in WeChat names its payer by "
        "the official account's openid)"]


def test_the_demo_uses_the_simulators_apps_for_login_and_every_message(tmp_path):
    settings = load_settings({}, {"INSTANCE_PATH": str(tmp_path), "SANDBOX_WECHAT_PORT": 5999})
    login = build_wechat_login(settings)
    assert login.api_root == "http://127.0.0.1:5999" and login.apps["mini"].appid == SANDBOX_WECHAT["WECHAT_MINI_APPID"]
    channels = build_wechat_channels(settings)
    assert sorted(channels) == ["wechat_mp", "wechat_oa"]
    assert set(channels["wechat_oa"].template_ids) == set(FIELDS)
