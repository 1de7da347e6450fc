"""Photos of a meter face, the evidence a reader may attach to a manual read.

A photo is accepted only if it is a JPEG or PNG by its first bytes (whatever its name or declared
type) and no larger than the configured limit.  It is stored under the instance folder as
``photos/YYYY/MM/<random>.jpg|png`` (never a name the sender chose), and the read keeps that
relative path.
"""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import BinaryIO

from billing.errors import InvalidInput
from billing.reads import Read

FOLDER = "photos"
SIGNATURES = {b"\xff\xd8\xff": "jpg", b"\x89PNG\r\n\x1a\n": "png"}
MEDIA_TYPES = {"jpg": "image/jpeg", "png": "image/png"}


class PhotoTooLarge(InvalidInput):
    code = "photo_too_large"


class PhotoNotImage(InvalidInput):
    code = "photo_not_image"


def accept_photo(stream: BinaryIO, max_bytes: int) -> tuple[bytes, str]:
    """The photo's bytes and extension; reads at most one byte past the limit."""
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise PhotoTooLarge("photo", f"larger than {max_bytes} bytes", limit_mb=max_bytes // (1024 * 1024))
    for signature, extension in SIGNATURES.items():
        if data.startswith(signature):
            return data, extension
    raise PhotoNotImage("photo", "not a JPEG or PNG image")


def store_photo(instance: Path, data: bytes, extension: str, day: date) -> str:
    """Write the photo under ``instance``; returns its path relative to it."""
    relative = f"{FOLDER}/{day:%Y/%m}/{uuid.uuid4().hex}.{extension}"
    target = instance / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return relative


def stored_photo(instance: Path, read: Read | None) -> Path | None:
    """The stored file of ``read``'s photo, if it has one that is ours and still there."""
    if read is None or not read.photo:
        return None
    photos = (instance / FOLDER).resolve()
    path = (instance / read.photo).resolve()
    if not path.is_relative_to(photos) or path.suffix.lstrip(".") not in MEDIA_TYPES or not path.is_file():
        return None
    return path
