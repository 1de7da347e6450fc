"""Jobs that scale out.  The scheduled commands (notification dispatch, dunning, payments sync,
daily settlement, reconciliation, the bill run) run inline from cron by default.  With
``DIANFEI_BROKER_URL`` set (a Redis URL) the same ``dianfei`` command sends the job to a Celery
worker instead, waits for it and prints what the worker printed; any number of workers serve the
queue against one shared PostgreSQL, and ``celery -A portal.jobs beat`` replaces cron.

A worker runs each job as the very ``dianfei`` command, in a process of its own with the broker
unset: the same idempotent functions, the same settings and the same one-line errors as inline, so
a job sent twice, or run by two workers at once, changes nothing the second time.

    celery -A portal.jobs worker --concurrency 2        celery -A portal.jobs beat
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from celery import Celery
from celery.schedules import crontab

from billing.clock import beijing_date, system_clock

BROKER_VARIABLE = "DIANFEI_BROKER_URL"
DIANFEI = str(Path(sys.executable).parent / "dianfei")
JOB_TIMEOUT = 6 * 3600  # a month's bill run over a million accounts, with room to spare
# The commands a worker may run (the first words of their argument lists).
JOBS = (("notify", "dispatch"), ("dunning", "run"), ("payments", "sync"), ("bills", "settle-daily"),
        ("bills", "run"), ("bills", "post-late-fees"), ("reconcile",))


def is_job(args: list[str]) -> bool:
    return any(tuple(args[:len(job)]) == job for job in JOBS)


def make_celery(broker_url: str | None) -> Celery:
    app = Celery("dianfei", broker=broker_url, backend=broker_url)
    app.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"],
                    timezone="Asia/Shanghai", task_acks_late=True, worker_prefetch_multiplier=1,
                    broker_connection_retry_on_startup=True, result_expires=24 * 3600, beat_schedule=BEAT)
    return app


# What cron would run, Beijing time; "yesterday" and "last month" are worked out when the job runs.
BEAT = {
    "notify-dispatch": {"task": "dianfei.scheduled", "schedule": 60.0, "args": ("notify-dispatch",)},
    "dunning-run": {"task": "dianfei.scheduled", "schedule": 15 * 60.0, "args": ("dunning-run",)},
    "payments-sync": {"task": "dianfei.scheduled", "schedule": 5 * 60.0, "args": ("payments-sync",)},
    "settle-daily": {"task": "dianfei.scheduled", "schedule": crontab(hour=1, minute=30), "args": ("settle-daily",)},
    "post-late-fees": {"task": "dianfei.scheduled", "schedule": crontab(hour=2, minute=0), "args": ("post-late-fees",)},
    "reconcile-all": {"task": "dianfei.scheduled", "schedule": crontab(hour=10, minute=30), "args": ("reconcile-all",)},
    "bill-run": {"task": "dianfei.scheduled", "schedule": crontab(day_of_month=2, hour=3, minute=0),
                 "args": ("bill-run",)},
}


def scheduled_args(name: str) -> list[str]:
    today = beijing_date(system_clock())
    yesterday, last_month = today - timedelta(days=1), today.replace(day=1) - timedelta(days=1)
    return {"notify-dispatch": ["notify", "dispatch"], "dunning-run": ["dunning", "run"],
            "payments-sync": ["payments", "sync"], "post-late-fees": ["bills", "post-late-fees"],
            "settle-daily": ["bills", "settle-daily", "--date", yesterday.isoformat()],
            "reconcile-all": ["reconcile", "all", "--date", yesterday.isoformat()],
            "bill-run": ["bills", "run", "--period", f"{last_month:%Y-%m}"]}[name]


celery = make_celery(os.environ.get(BROKER_VARIABLE))


@celery.task(name="dianfei.command")
def command(args: list[str]) -> dict:
    """Run one ``dianfei`` job inline in a process of its own; its exit status and what it printed."""
    if not is_job(args):
        return {"exit_code": 2, "stdout": "", "stderr": f"dianfei: not a job: {' '.join(args)[:80]}\n"}
    environ = {k: v for k, v in os.environ.items() if k != BROKER_VARIABLE}
    done = subprocess.run([DIANFEI, *args], capture_output=True, text=True, env=environ, timeout=JOB_TIMEOUT)
    return {"exit_code": done.returncode, "stdout": done.stdout, "stderr": done.stderr}


@celery.task(name="dianfei.scheduled")
def scheduled(name: str) -> dict:
    return command(scheduled_args(name))


def run_on_worker(args: list[str], broker_url: str, *, timeout: float = JOB_TIMEOUT) -> int:
    """Send a job to the workers, wait for it, print its output; its exit status."""
    app = make_celery(broker_url)
    result = app.send_task("dianfei.command", args=[args]).get(timeout=timeout)
    sys.stdout.write(result["stdout"])
    sys.stderr.write(result["stderr"])
    return result["exit_code"]
