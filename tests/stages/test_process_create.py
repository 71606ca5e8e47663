"""`stages.services.process_create`: a process written from a template by people (or the demo),
outside the built-in loader."""

from dataclasses import replace

import pytest
from django.core.management import call_command

from epos.lib.errors import Forbidden, InvalidInput
from stages.models import Process
from stages.services import InvalidTemplate, process_as_template, process_create
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def epos(db):
    call_command("load_processes", verbosity=0)
    return Process.objects.get(slug="epos-presales", status="active")


def test_a_new_playbook_runs_next_to_the_one_it_was_derived_from(epos):
    template = replace(process_as_template(epos), slug="epos-trial", name="EPOS trial")

    trial = process_create(template=template, actor=None, status="active", based_on=epos)

    assert (trial.slug, trial.version, trial.status, trial.based_on) == (
        "epos-trial",
        1,
        "active",
        epos,
    )
    epos.refresh_from_db()
    assert epos.status == "active"
    assert list(trial.stages.order_by("position").values_list("slug", "target_days")) == list(
        epos.stages.order_by("position").values_list("slug", "target_days")
    )
    required = trial.stages.get(slug="discovery").items.filter(required=True).count()
    assert required == epos.stages.get(slug="discovery").items.filter(required=True).count() > 0


def test_a_template_of_a_slug_in_use_becomes_its_next_version_as_a_draft(epos):
    draft = process_create(template=process_as_template(epos), actor=None)

    assert (draft.slug, draft.version, draft.status, draft.based_on) == (
        "epos-presales",
        epos.version + 1,
        "draft",
        epos,
    )


def test_a_second_active_version_of_a_slug_is_refused(epos):
    with pytest.raises(InvalidInput, match="active version already"):
        process_create(template=process_as_template(epos), actor=None, status="active")
    assert Process.objects.filter(slug="epos-presales").count() == 1


def test_an_inconsistent_template_writes_nothing(epos):
    template = replace(process_as_template(epos), slug="broken", stages=())

    with pytest.raises(InvalidTemplate):
        process_create(template=template, actor=None)
    assert not Process.objects.filter(slug="broken").exists()


def test_only_curators_and_admins_write_processes(epos, alice):
    template = replace(process_as_template(epos), slug="epos-trial")
    with pytest.raises(Forbidden):
        process_create(template=template, actor=alice)
    curator = factories.UserFactory(role="curator")
    assert process_create(template=template, actor=curator).slug == "epos-trial"
