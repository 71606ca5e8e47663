"""Deterministic, realistic demo data: people, teams, accounts and ~400 deals with their history.

Two halves. `plan.build_plan` is pure: from a seed, a reference "now" and the shape of the
processes (stages, target days, optional stages, checklist sizes) it decides everything: who,
what, how much, which stages a deal walks through and when, drawing names and texts from the
tables in `data`. `apply.demo_seed` then replays that plan through the real services
(opportunity_create, checklist_item_set, opportunity_move_to_stage, ...), so the rows look exactly
like rows written by users: gates pass because items were ticked, overrides come from a manager,
and every move appends its transition and outbox event.

Every random draw comes from one `random.Random(seed)` and none depends on "now", so the same
seed always gives the same names, amounts and paths; only the dates slide with the clock, so
the dashboards always look live.
"""
