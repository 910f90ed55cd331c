from django.apps import AppConfig


class OptionsConfig(AppConfig):
    name = "options"
    verbose_name = "Options / dealer's bias"
