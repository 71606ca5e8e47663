"""StageTransition.left_at and passed_at, filled from the existing history."""

from django.db import migrations, models

FILL = """
UPDATE opportunities_stagetransition SET left_at = visits.next_at
FROM (
    SELECT id, LEAD(moved_at) OVER (PARTITION BY opportunity_id ORDER BY moved_at, id) AS next_at
    FROM opportunities_stagetransition
) AS visits
WHERE opportunities_stagetransition.id = visits.id AND visits.next_at IS NOT NULL
"""


FILL_PASSED = """
UPDATE opportunities_stagetransition SET passed_at = (
    SELECT MIN(later.moved_at)
    FROM opportunities_stagetransition AS later
    JOIN stages_stage AS reached ON reached.id = later.to_stage_id
    JOIN stages_stage AS here ON here.id = opportunities_stagetransition.to_stage_id
    WHERE later.opportunity_id = opportunities_stagetransition.opportunity_id
      AND (later.moved_at > opportunities_stagetransition.moved_at
           OR (later.moved_at = opportunities_stagetransition.moved_at
               AND later.id > opportunities_stagetransition.id))
      AND reached.kind IN ('open', 'won')
      AND reached.position > here.position
)
WHERE to_stage_id IN (SELECT id FROM stages_stage WHERE kind = 'open')
"""


def fill(apps, schema_editor):
    schema_editor.execute(FILL)
    schema_editor.execute(FILL_PASSED)


class Migration(migrations.Migration):
    dependencies = [("opportunities", "0003_opportunity_outcome_use_case_index")]

    operations = [
        migrations.AddField(
            model_name="stagetransition",
            name="left_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="stagetransition",
            name="passed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
