from django.apps import AppConfig


class MlfilterConfig(AppConfig):
    name = "mlfilter"
    verbose_name = "ML filter"
