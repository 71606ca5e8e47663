"""Every metric of ARCHITECTURE section 4, defined once and used by the API, the dashboards, the
pilots and the tests.

All figures are computed by the database: conditional aggregates over opportunities, window
functions over stage transitions (a visit lasts until the opportunity's next transition), and
`percentile_cont` on PostgreSQL. SQLite has no ordered-set aggregate, so there the percentiles
come from the one fetched column of durations, interpolated by numpy the same way (linear
between the closest ranks); nothing ever iterates over Opportunity objects.

Durations are days as decimals. A `Period` is half-open: start inclusive, end exclusive, either
side optional.

Where each read path lives (the modules below import only `common` and `scope`, except
`summaries`, which also groups by `groupings`, and `drilldowns`, which reuses the compliance and
quota rules):

- `scope`: `Period`, `Scope`, `metric_scope` (request parameters to a scope), and how cached
  results are keyed by scope.
- `common`: outcomes, the amount type, percentiles on SQLite, rounding.
- `summaries`: `summary`, `summary_by`, `summary_sets` (GROUPING SETS on PostgreSQL).
- `groupings`: `GROUPINGS`, how a group is keyed, labelled and sorted.
- `stage_flow`: `funnel`, `time_in_stage`, `process_stages`.
- `dwell`: `dwell_shift`, which stage's dwell grew most.
- `compliance`: `consistency` (gate compliance), `compliance_outcomes`.
- `esat_scores`: `esat`.
- `pipeline`: `pipeline_by_stage`, `pipeline_history`, what the daily snapshots store.
- `quotas`: `quota_attainment`.
- `pilots`: `pilot_list`, `pilot_get`, `pilot_arms`.
- `drilldowns`: `drilldown`, the opportunities behind a figure.
- `choices`: the dashboard's filter choices and default process.
- `automation`: `automation_report`, checklist items completed by their evidence vs by hand per
  stage, and the time that saves (median lag from the evidence to a manual tick).
- `workload`: `sa_workload` (per SA: open deals by stage, past target, hours against capacity;
  per team: product gaps and the pipeline at risk), `workload_deals` behind its figures. Its
  "past target" is `opportunities.measures.past_target_q`, time_in_stage's rule.
"""

from metrics.selectors.automation import automation_report
from metrics.selectors.choices import busiest_process, dashboard_processes, dashboard_teams
from metrics.selectors.compliance import compliance_outcomes, consistency
from metrics.selectors.drilldowns import (
    DRILLS,
    drilldown,
    drilldown_rows,
    drilldown_stage,
    group_label,
)
from metrics.selectors.dwell import DwellShift, DwellShiftReport, dwell_shift
from metrics.selectors.esat_scores import esat
from metrics.selectors.groupings import API_GROUPINGS, GROUPINGS, Grouping
from metrics.selectors.pilots import PilotArm, pilot_arms, pilot_get, pilot_list, pilot_members
from metrics.selectors.pipeline import (
    open_pipeline_by_stage_and_team,
    open_pipeline_on,
    pipeline_by_stage,
    pipeline_history,
)
from metrics.selectors.quotas import quota_attainment, quota_people
from metrics.selectors.scope import Period, Scope, metric_scope
from metrics.selectors.stage_flow import StageFlow, funnel, process_stages, time_in_stage
from metrics.selectors.summaries import (
    EXTRA_SUMMARY_FIELDS,
    SUMMARY_FIELDS,
    summary,
    summary_by,
    summary_sets,
)
from metrics.selectors.workload import (
    active_sa_get,
    sa_workload,
    workload_deals,
    workload_sa,
    workload_teams,
)

__all__ = [
    "automation_report",
    "API_GROUPINGS",
    "DRILLS",
    "EXTRA_SUMMARY_FIELDS",
    "GROUPINGS",
    "SUMMARY_FIELDS",
    "DwellShift",
    "DwellShiftReport",
    "Grouping",
    "Period",
    "PilotArm",
    "Scope",
    "StageFlow",
    "active_sa_get",
    "busiest_process",
    "compliance_outcomes",
    "consistency",
    "dashboard_processes",
    "dashboard_teams",
    "drilldown",
    "drilldown_rows",
    "drilldown_stage",
    "dwell_shift",
    "esat",
    "funnel",
    "group_label",
    "metric_scope",
    "open_pipeline_by_stage_and_team",
    "open_pipeline_on",
    "pilot_arms",
    "pilot_get",
    "pilot_list",
    "pilot_members",
    "pipeline_by_stage",
    "pipeline_history",
    "process_stages",
    "quota_attainment",
    "quota_people",
    "sa_workload",
    "summary",
    "summary_by",
    "summary_sets",
    "time_in_stage",
    "workload_deals",
    "workload_sa",
    "workload_teams",
]
