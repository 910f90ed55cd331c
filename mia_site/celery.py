"""The Celery application: queues trading (one ordered consumer), options, ml and default."""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mia_site.settings")

app = Celery("mia")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [Queue("trading"), Queue("options"), Queue("ml"), Queue("default")]
app.autodiscover_tasks()
