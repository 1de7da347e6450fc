"""``dianfei reads ...`` as an operator runs it: the demo's AMI file, bad files, estimates."""

import os
import pty
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select

from billing.db import make_engine
from billing.reads import Read, ReadBatch
from tests.web.test_cli import DIANFEI, dianfei

HEADER = "表号,冻结时间,正向有功总(kWh),尖(kWh),峰(kWh),平(kWh),谷(kWh)"


# The demo instance below is loaded once for the module: under pytest-xdist its tests stay on one worker.
pytestmark = pytest.mark.xdist_group("read_cli_demo")


@pytest.fixture(scope="module")
def demo_instance(tmp_path_factory) -> tuple[Path, Path]:
    """``db upgrade`` and ``demo load --accounts 10 --no-bills`` once: the instance folder and the AMI
    file of today the load wrote into it (relative to the folder).  Tests copy the folder."""
    folder = tmp_path_factory.mktemp("read_cli_demo")
    assert dianfei("db", "upgrade", tmp_path=folder).returncode == 0
    loaded = dianfei("demo", "load", "--accounts", "10", "--no-bills", tmp_path=folder)
    assert loaded.returncode == 0, loaded.stderr
    ami = Path(re.search(r"today's AMI file from the head-end: (\S+)", loaded.stdout)[1])
    return folder / "instance", ami.relative_to(folder / "instance")


def _demo(tmp_path: Path, demo_instance: tuple[Path, Path]) -> Path:
    """A demo county of 10 户号 in ``tmp_path``'s instance; returns the AMI file of today it wrote."""
    instance, ami = demo_instance
    shutil.copytree(instance, tmp_path / "instance")
    return tmp_path / "instance" / ami


def _counts(tmp_path: Path) -> tuple[int, int]:
    engine = make_engine(f"sqlite:///{tmp_path / 'instance' / 'dianfei.sqlite3'}")
    try:
        with engine.connect() as connection:
            return tuple(connection.execute(select(func.count()).select_from(table)).scalar() for table in (Read, ReadBatch))
    finally:
        engine.dispose()


def _on_a_terminal(*args: str, tmp_path: Path) -> tuple[int, str]:
    """Run ``dianfei`` with its output on a pseudo-terminal, as an operator at a console sees it."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DIANFEI_") and k != "DATABASE_URL"}
    environ["DIANFEI_INSTANCE_PATH"] = str(tmp_path / "instance")
    master, terminal = pty.openpty()
    process = subprocess.Popen([DIANFEI, *args], stdout=terminal, stderr=terminal, env=environ)
    os.close(terminal)
    output = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal is gone with the process
            break
        if not chunk:
            break
        output += chunk
    os.close(master)
    return process.wait(timeout=120), output.decode()


def test_the_demo_file_estimates_and_imports_once(tmp_path, demo_instance):
    ami = _demo(tmp_path, demo_instance)
    day = ami.stem.removeprefix("ami-")
    day = f"{day[:4]}-{day[4:6]}-{day[6:]}"
    estimated = dianfei("reads", "estimate", "--date", day, tmp_path=tmp_path)
    assert estimated.returncode == 0, estimated.stderr
    count = int(re.match(rf"{day}: (\d+) reads estimated, 0 meters already had a read, 0 cannot", estimated.stdout)[1])
    again = dianfei("reads", "estimate", "--date", day, tmp_path=tmp_path)
    assert again.stdout.startswith(f"{day}: 0 reads estimated, {count} meters already had a read")
    reads_before, _ = _counts(tmp_path)
    status, shown = _on_a_terminal("reads", "import", str(ami), "--by", "王建国", tmp_path=tmp_path)
    assert status == 0 and "checking" in shown and "writing" in shown, shown
    summary = re.search(rf"batch #1 {ami.name}: {count} rows, (\d+) written \((\d+) replacing estimates\), "
                        rf"(\d+) already held, 0 bad skipped; \1 meters, days {day}..{day}", shown)
    written, replacing, held = map(int, summary.groups())  # held: an actual that happens to equal its estimate
    assert written == replacing > count - 3 and written + held == count
    assert _counts(tmp_path) == (reads_before + written, 1)
    twice = dianfei("reads", "import", str(ami), tmp_path=tmp_path)
    assert twice.returncode == 0 and "checking" not in twice.stdout
    assert re.fullmatch(rf"{ami.name} was imported already as batch #1 \(.* by 王建国\): nothing added\n", twice.stdout)
    assert _counts(tmp_path) == (reads_before + written, 1)


def test_a_bad_file_is_refused_with_its_report_or_its_good_rows_taken(tmp_path, demo_instance):
    _demo(tmp_path, demo_instance)
    before = _counts(tmp_path)
    bad = tmp_path / "head-end.csv"
    rows = [f"M{3300000000 + n:010d},2025-01-0{n + 1} 00:00,{n}.00,,,," for n in range(3)]  # residential meters are 峰谷
    bad.write_bytes("\r\n".join([HEADER, "ZTQ-CG01,2025-01-05 00:00,5.00,,,,", *rows, "NOPE,2025-01-05 00:00,1.00,,,,"])
                    .encode("gbk"))
    refused = dianfei("reads", "import", str(bad), tmp_path=tmp_path)
    assert refused.returncode == 1
    assert refused.stdout == "head-end.csv refused: 4 bad of 5 rows, nothing written (fix the file, or import the good rows with --skip-bad)\n"
    report = bad.with_name("head-end.csv.report.txt").read_text(encoding="utf-8").splitlines()
    assert refused.stderr.splitlines() == [*report, f"(the whole report is in {bad.with_name('head-end.csv.report.txt')})"]
    assert report[0] == "第3行 [registers_missing] 表号 M3300000000 是分时表，缺少尖峰平谷示数"
    assert report[-1] == "第6行 [unknown_meter] 表号 NOPE 不存在" and _counts(tmp_path) == before
    skipped = dianfei("reads", "import", str(bad), "--skip-bad", tmp_path=tmp_path)
    assert skipped.returncode == 1 and "1 written (0 replacing estimates), 0 already held, 4 bad skipped" in skipped.stdout
    assert _counts(tmp_path) == (before[0] + 1, before[1] + 1)


def test_estimating_a_day_to_come_is_refused(tmp_path):
    dianfei("db", "upgrade", tmp_path=tmp_path)
    refused = dianfei("reads", "estimate", "--date", "2999-01-01", tmp_path=tmp_path)
    assert refused.returncode == 1 and "--date 2999-01-01 is in the future" in refused.stderr


def _dropped_digit(row: str) -> str:
    """A head-end row with a digit dropped from every register: a tenth of each, the total their sum."""
    meter, at, total, *registers = row.split(",")
    tenths = [str(int(value.replace(".", "")) // 10) if value else "" for value in registers]
    hundredths = sum(int(value) for value in tenths if value) if any(tenths) else int(total.replace(".", "")) // 10
    kwh = [f"{int(value) // 100}.{int(value) % 100:02d}" if value else "" for value in tenths]
    return ",".join([meter, at, f"{hundredths // 100}.{hundredths % 100:02d}", *kwh])


def test_an_import_checks_what_it_wrote(tmp_path, demo_instance):
    ami = _demo(tmp_path, demo_instance)
    header, first, *rest = ami.read_text(encoding="gbk").splitlines()
    glitched = tmp_path / "glitched.csv"
    glitched.write_text("\n".join([header, _dropped_digit(first), *rest]) + "\n", encoding="utf-8")
    imported = dianfei("reads", "import", str(glitched), tmp_path=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert re.search(r"^negative_use\t1\t", imported.stdout, re.M), imported.stdout
    assert re.search(r"^checked: [1-9]\d* new review items$", imported.stdout, re.M)
