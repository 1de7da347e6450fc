"""Payment-gateway notify endpoints: /callbacks/wechatpay and /callbacks/alipay."""
