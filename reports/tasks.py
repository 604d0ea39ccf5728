"""Celery entry point of the reports app, on its own queue (``reports``)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from reports.models import Report
from reports.services import report_build

logger = logging.getLogger(__name__)


@shared_task(
    name="reports.tasks.report_issue",
    queue="reports",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    retry_backoff_max=120,
    max_retries=5,
    soft_time_limit=600,
    time_limit=660,
    ignore_result=True,
)
def report_issue(*, report_pk: int) -> None:
    """Build and issue a requested report, storing progress on its row.

    Enqueued on commit by ``reports.views`` / the admin after ``report_request``. Running it twice
    is safe: ``report_build`` claims the row with a conditional update and an issued report is
    never rebuilt. A row that has gone away is ignored.
    """
    if not Report.objects.filter(pk=report_pk).exists():
        logger.info("report %s is gone; nothing to do", report_pk)
        return
    report_build(report_pk=report_pk)
