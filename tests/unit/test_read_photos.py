"""Photos of a meter face: a real JPEG or PNG by its first bytes, within the size limit, stored
under the instance folder by a name of ours, and served only from there."""

import io
import re
from datetime import date
from types import SimpleNamespace

import pytest

from billing.read_photos import PhotoNotImage, PhotoTooLarge, accept_photo, store_photo, stored_photo

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 100
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


@pytest.mark.parametrize(("data", "extension"), [(JPEG, "jpg"), (PNG, "png")])
def test_jpeg_and_png_are_known_by_their_first_bytes(data, extension):
    assert accept_photo(io.BytesIO(data), 1000) == (data, extension)


@pytest.mark.parametrize("data", [b"GIF89a" + b"\x00" * 10, b"<svg onload=alert(1)>", b"%PDF-1.7", b"", b"\xff\xd8"])
def test_anything_else_is_refused_whatever_it_is_called(data):
    with pytest.raises(PhotoNotImage) as refused:
        accept_photo(io.BytesIO(data), 1000)
    assert refused.value.field == "photo"


def test_a_photo_over_the_limit_is_refused_without_reading_it_all():
    stream = io.BytesIO(JPEG + b"\x00" * 5 * 1024 * 1024)
    with pytest.raises(PhotoTooLarge) as refused:
        accept_photo(stream, 1024 * 1024)
    assert refused.value.params == {"limit_mb": 1} and stream.tell() == 1024 * 1024 + 1
    assert accept_photo(io.BytesIO(JPEG), len(JPEG)) == (JPEG, "jpg")  # exactly the limit is fine


def test_a_photo_is_stored_by_month_under_a_name_of_ours(tmp_path):
    first, second = (store_photo(tmp_path, JPEG, "jpg", date(2026, 11, 27)) for _ in range(2))
    assert re.fullmatch(r"photos/2026/11/[0-9a-f]{32}\.jpg", first) and first != second
    assert (tmp_path / first).read_bytes() == JPEG
    assert stored_photo(tmp_path, SimpleNamespace(photo=first)) == (tmp_path / first).resolve()


@pytest.mark.parametrize("path", [None, "", "photos/../secret_key", "/etc/passwd", "photos/2026/11/missing.jpg",
                                  "dianfei.sqlite3", "photos/2026/11/x.txt"])
def test_only_stored_photos_are_ever_served(tmp_path, path):
    (tmp_path / "secret_key").write_text("s")
    (tmp_path / "photos/2026/11").mkdir(parents=True)
    (tmp_path / "photos/2026/11/x.txt").write_text("x")
    assert stored_photo(tmp_path, SimpleNamespace(photo=path)) is None
