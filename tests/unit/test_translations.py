"""Every Chinese text the portal shows has an English translation."""

import re
from pathlib import Path

from portal.filters import NAMES
from portal.i18n import BULK_PROBLEMS, ERROR_TEXT, catalog

PORTAL = Path(__file__).resolve().parents[2] / "portal"
MARKED = re.compile(r"""(?:\b_|gettext)\(\s*(["'])(.+?)\1""")


def marked_texts() -> set[str]:
    found = set()
    for path in list(PORTAL.rglob("*.html")) + list(PORTAL.rglob("*.py")):
        found |= {match.group(2) for match in MARKED.finditer(path.read_text(encoding="utf-8"))}
    names = {text for table in NAMES.values() for text in table.values()}
    return found | set(ERROR_TEXT.values()) | set(BULK_PROBLEMS.values()) | names


def test_every_marked_text_has_english():
    texts = marked_texts()
    assert len(texts) > 20
    assert sorted(texts - set(catalog("en"))) == []


def test_no_stale_translations():
    assert sorted(set(catalog("en")) - marked_texts()) == []
