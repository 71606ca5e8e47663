"""The public ESAT survey page: reached from an emailed link, no login."""

from __future__ import annotations

import re

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
    opportunity = invitation.opportunity
    account = opportunity.account.name if opportunity.account_id else ""
    return render(
        request,
        "opportunities/survey/answer.html",
        {
            "invitation": invitation,
            "form": form,
            "work": customer_words(invitation.stage.name if invitation.stage_id else ""),
            "deal": opportunity.name,
            # "Acme – Log search for Acme" says the account twice.
            "for_account": "" if account and opportunity.name.startswith(account) else account,
        },
    )


_CODE = re.compile(r"\s*\([^)]*\)")


def customer_words(stage_name: str) -> str:
    """A stage as a customer would say it: "Demo (D2W)" is "demo", "Technical Q&A" stays
    "technical Q&A"; internal codes in brackets are left out."""
    words = _CODE.sub("", stage_name).strip()
    if not words:
        return "work"
    first, _, rest = words.partition(" ")
    if not first.isupper():
        first = first[0].lower() + first[1:]
    return f"{first} {rest}".strip()


def _link_problem(request, exc: EsatLinkError):
    return render(
        request,
        "opportunities/survey/invalid.html",
        {"reason": exc.reason, "message": exc.message},
        status=_STATUS.get(exc.reason, 400),
    )
