import pytest

from billing.privacy import mask_name, mask_phone


@pytest.mark.parametrize(("phone", "masked"), [("13800000000", "138****0000"), ("", ""), (None, ""), ("12345", "*****")])
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(("name", "masked"), [("李荣", "李*"), ("李小荣", "李*荣"), ("欧阳小荣", "欧**荣"), ("李", "李"), ("", "")])
def test_mask_name(name, masked):
    assert mask_name(name) == masked
