// Inside WeChat: open WeChat Pay's sheet with the signed JSAPI parameters, then show the result page
// whatever the sheet says (the result page asks WeChat Pay; cancelling there leaves the order unpaid).
// Without WeChat's bridge (the demo's browser) the sandbox's stand-in for the sheet opens instead.
(function () {
  "use strict";
  var card = document.querySelector("[data-wechat-pay]");
  if (!card) return;
  var data = card.dataset;
  var params = {appId: data.appid, timeStamp: data.timestamp, nonceStr: data.noncestr, package: data.package,
                signType: data.signtype, paySign: data.paysign};
  function pay() {
    window.WeixinJSBridge.invoke("getBrandWCPayRequest", params, function () {
      window.location.href = data.result;
    });
  }
  function start() {
    if (window.WeixinJSBridge) {
      pay();
    } else if (data.sandbox) {
      window.location.href = data.sandbox;
    }
  }
  var again = card.querySelector("[data-wechat-pay-again]");
  if (again) again.addEventListener("click", start);
  if (window.WeixinJSBridge || data.sandbox) {
    start();
  } else {
    document.addEventListener("WeixinJSBridgeReady", start, false);
  }
})();
