from epos.lib.roles import ROLE_LABELS, primary_role


def roles(request):
    user = getattr(request, "user", None)
    role = primary_role(user) if user is not None else None
    return {"epos_role": role, "epos_role_label": ROLE_LABELS.get(role, "")}
