"""Production settings pass Django's deployment checks; the pure cores never import Django."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PURE = ["trading/engine", "options/analytics", "mlfilter/ml"]


def test_check_deploy_is_clean_with_production_variables(tmp_path):
    env = {**os.environ, "MIA_DEBUG": "0", "MIA_SECURE": "1", "MIA_SECRET_KEY": "k" * 20 + "Xy7#pQ9!zR2@" * 3,
           "MIA_ALLOWED_HOSTS": "mia.example.com", "MIA_VAR_DIR": str(tmp_path),
           "DJANGO_SETTINGS_MODULE": "mia_site.settings"}
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_bad_settings_fail_loudly(tmp_path):
    env = {**os.environ, "MIA_DEBUG": "maybe", "MIA_VAR_DIR": str(tmp_path),
           "DJANGO_SETTINGS_MODULE": "mia_site.settings"}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0 and "MIA_DEBUG" in result.stderr


@pytest.mark.parametrize("package", [p for p in PURE if (REPO / p).is_dir()])
def test_pure_cores_import_without_django(package):
    folder = REPO / package
    modules = [".".join(p.relative_to(REPO).with_suffix("").parts) for p in folder.rglob("*.py")
               if p.name not in ("__init__.py",) and "benchmarks" not in p.name]
    code = ("import importlib, sys\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('django', 'channels', 'celery')]\n"
            "assert not bad, bad\n")
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
