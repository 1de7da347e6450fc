"""Every Chinese text the portal shows has an English translation, in English punctuation."""

import re
from pathlib import Path

from portal.filters import NAMES
from portal.i18n import BULK_PROBLEMS, COUNTER_PROBLEMS, ERROR_TEXT, HTTP_TEXT, catalog
from portal.staff.incident_text import SENTENCES
from portal.manager.documents_pdf import STATEMENT_COLUMNS

PORTAL = Path(__file__).resolve().parents[2] / "portal"
MARKED = re.compile(r"""(?:\b_|gettext)\(\s*(["'])(.+?)\1""")
FULL_WIDTH = re.compile("[，：；（）！？。、【】“”]")


def marked_texts() -> set[str]:
    found = set()
    for path in list(PORTAL.rglob("*.html")) + list(PORTAL.rglob("*.py")):
        found |= {match.group(2) for match in MARKED.finditer(path.read_text(encoding="utf-8"))}
    names = {text for table in NAMES.values() for text in table.values()}
    tables = (ERROR_TEXT, BULK_PROBLEMS, COUNTER_PROBLEMS, SENTENCES)
    http = {text for pair in HTTP_TEXT.values() for text in pair}
    columns = set(STATEMENT_COLUMNS)  # translated by name where they are drawn
    return found | names | http | columns | {text for table in tables for text in table.values()}


def test_every_marked_text_has_english():
    texts = marked_texts()
    assert len(texts) > 20
    assert sorted(texts - set(catalog("en"))) == []


def test_no_stale_translations():
    assert sorted(set(catalog("en")) - marked_texts()) == []


def test_english_uses_english_punctuation():
    assert {text: english for text, english in catalog("en").items() if FULL_WIDTH.search(english)} == {}
