"""Admin for model versions (with their out-of-sample scores and a risk-admin-only deploy action) and runs."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from mlfilter.ml.errors import ModelFormatError
from mlfilter.models import ModelVersion, TrainingRun
from trading import roles
from trading.services import PermissionDenied


def _score(row: ModelVersion, key: str) -> float | str:
    value = row.overall.get(key)
    return "—" if value is None else round(value, 4)


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("version", "deployed", "trained_on", "samples", "oos_auc", "oos_brier", "oos_log_loss",
                    "filtered_expectancy", "created_at", "deployed_by")
    list_filter = ("deployed", "trained_on", "source")
    search_fields = ("version", "data_hash")
    actions = ("deploy_selected",)
    readonly_fields = tuple(f.name for f in ModelVersion._meta.fields)

    @admin.display(description="OOS AUC")
    def oos_auc(self, row: ModelVersion) -> float | str:
        return _score(row, "auc")

    @admin.display(description="OOS Brier")
    def oos_brier(self, row: ModelVersion) -> float | str:
        return _score(row, "brier")

    @admin.display(description="OOS log loss")
    def oos_log_loss(self, row: ModelVersion) -> float | str:
        return _score(row, "log_loss")

    @admin.display(description="Filtered expectancy $")
    def filtered_expectancy(self, row: ModelVersion) -> float | str:
        value = (row.overall.get("filtered") or {}).get("expectancy_usd")
        return "—" if value is None else value

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # versions come from training only

    def has_change_permission(self, request: HttpRequest, obj: ModelVersion | None = None) -> bool:
        return False  # read-only: deploying goes through the audited action

    def has_deploy_permission(self, request: HttpRequest) -> bool:
        return roles.has_role(request.user, roles.RISK_ADMIN)

    @admin.action(description="Deploy the selected model (risk admin; audited)", permissions=["deploy"])
    def deploy_selected(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one model version to deploy.", messages.ERROR)
            return
        row = queryset.get()
        try:
            # Imported here: services load scikit-learn, and every manage.py command imports the admin
            # modules at start-up (the kill switch must start in under 2 s).
            from mlfilter import services

            services.deploy(version=row, actor_name=request.user.get_username(), user=request.user,
                            reason="deployed from the admin")
        except (PermissionDenied, ModelFormatError) as exc:
            self.message_user(request, f"Not deployed: {exc}", messages.ERROR)
            return
        self.message_user(request, f"{row.version} is now the deployed model.", messages.SUCCESS)


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = ("started_at", "source", "status", "progress", "samples", "model", "message")
    list_filter = ("status", "source")
    readonly_fields = tuple(f.name for f in TrainingRun._meta.fields)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: TrainingRun | None = None) -> bool:
        return False
