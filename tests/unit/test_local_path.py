"""The one parser of redirect targets: a path on this site, or nothing."""

import pytest

from portal.security import local_path


@pytest.mark.parametrize("target", ["/", "/manager/", "/pay/3301000001?amount=50.00", "/staff/refunds?page=2#top",
                                    "/pay/%E7%94%B5%E8%B4%B9"])
def test_local_paths_pass_unchanged(target):
    assert local_path(target) == target


@pytest.mark.parametrize("target", [
    None, "", 42, "//evil.example", "///evil.example", "/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example",
    " /x", "/x ", "/\u3000/evil.example", "/\u200b/evil.example", "/\x7f", "/\\evil.example", "\\\\evil.example",
    "/%5Cevil.example", "/%09/evil.example", "/%2F/evil.example", "/%2f%2fevil.example", "https://evil.example/",
    "http:evil.example", "javascript:alert(1)", "evil.example", "/../evil.example", "/a/./b", "/%2e%2e/x",
    "/x?next=%0d%0aSet-Cookie:a=1", "/" + "a" * 2001,
])
def test_anything_else_is_refused(target):
    assert local_path(target) is None
