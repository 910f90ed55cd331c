from django.http import HttpRequest

from trading import roles


def mia(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    role = roles.role_of(user)
    return {"mia_role": role, "can_halt": roles.has_role(user, roles.OPERATOR),
            "can_resume": roles.has_role(user, roles.RISK_ADMIN)}
