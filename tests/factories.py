"""factory-boy factories for every app (one module keeps the personas and the data aligned)."""

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from epos.lib.roles import assign_role
from opportunities.models import Account, Contact, Opportunity, StageTransition, Team
from stages.models import Process, Stage, StageItem, Tool


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            assign_role(self, extracted)
        if create:
            self.save()


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")


class ToolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tool
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Tool {n}")
    slug = factory.Sequence(lambda n: f"tool-{n}")


class ProcessFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Process

    name = factory.Sequence(lambda n: f"Process {n}")
    slug = factory.Sequence(lambda n: f"process-{n}")
    status = Process.Status.ACTIVE


class StageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stage

    process = factory.SubFactory(ProcessFactory)
    position = factory.Sequence(lambda n: n + 1)
    name = factory.Sequence(lambda n: f"Stage {n}")
    slug = factory.Sequence(lambda n: f"stage-{n}")
    kind = Stage.Kind.OPEN
    probability = 20


class StageItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StageItem

    stage = factory.SubFactory(StageFactory)
    kind = StageItem.Kind.EXIT_CRITERION
    title = factory.Sequence(lambda n: f"Item {n}")
    required = True


def make_process(open_stages=("Discovery", "Demo", "Proposal"), *, required_items=0, **kwargs):
    """A process with the given open stages plus Won and Lost; the first stage starts the clock.

    `required_items` adds that many required items to every open stage.
    """
    process = ProcessFactory(**kwargs)
    stages = []
    for position, name in enumerate(open_stages, start=1):
        stage = StageFactory(
            process=process,
            position=position,
            name=name,
            slug=f"{name.lower().replace(' ', '-')}",
            probability=min(90, position * 20),
            starts_clock=position == 1,
            target_days=14,
        )
        for index in range(required_items):
            StageItemFactory(stage=stage, position=index, title=f"{name} item {index + 1}")
        stages.append(stage)
    base = len(open_stages)
    stages.append(
        StageFactory(
            process=process, position=base + 1, name="Won", slug="won", kind="won", probability=100
        )
    )
    stages.append(
        StageFactory(
            process=process, position=base + 2, name="Lost", slug="lost", kind="lost", probability=0
        )
    )
    return process, stages


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Faker("company")
    industry = "software"
    segment = Account.Segment.MID_MARKET


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    account = factory.SubFactory(AccountFactory)
    name = factory.Faker("name")
    email = factory.Faker("email")


class OpportunityFactory(factory.django.DjangoModelFactory):
    """A deal in the first stage of its process, with its first transition recorded."""

    class Meta:
        model = Opportunity
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Deal {n}")
    account = factory.SubFactory(AccountFactory)
    process = factory.LazyAttribute(lambda o: o.stage.process)
    stage = factory.LazyFunction(lambda: make_process()[1][0])
    amount = Decimal("10000")
    created_at = factory.LazyFunction(timezone.now)
    stage_entered_at = factory.LazyAttribute(lambda o: o.created_at)
    engaged_at = factory.LazyAttribute(lambda o: o.created_at if o.stage.starts_clock else None)

    @factory.post_generation
    def first_transition(self, create, extracted, **kwargs):
        if create:
            StageTransition.objects.create(
                opportunity=self, from_stage=None, to_stage=self.stage, moved_at=self.created_at
            )
