"""WeChat login: the official account's web OAuth and the mini-program's code2session."""
