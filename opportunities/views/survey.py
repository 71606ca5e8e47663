"""The public ESAT survey page: reached from an emailed link, no login."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from opportunities import services
from opportunities.forms import EsatAnswerForm
from opportunities.services import EsatLinkError

# Gone for links that worked once and no longer do; Bad Request for links never issued.
_STATUS = {"expired": 410, "answered": 410, "invalid": 400}


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def esat_survey(request, token: str):
    try:
        invitation = services.esat_invitation_from_token(token)
    except EsatLinkError as exc:
        return _link_problem(request, exc)
    form = EsatAnswerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.esat_invitation_answer(
                token=token,
                score=form.cleaned_data["score"],
                comment=form.cleaned_data["comment"],
            )
        except EsatLinkError as exc:
            return _link_problem(request, exc)
        return render(request, "opportunities/survey/thanks.html", {"invitation": invitation})
    return render(
        request, "opportunities/survey/answer.html", {"invitation": invitation, "form": form}
    )


def _link_problem(request, exc: EsatLinkError):
    return render(
        request,
        "opportunities/survey/invalid.html",
        {"reason": exc.reason, "message": exc.message},
        status=_STATUS.get(exc.reason, 400),
    )
