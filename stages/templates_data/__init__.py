"""The built-in process templates as data, one module per template, in the shape that
`stages.process_templates` defines.

`manage.py load_processes` turns them into Process / Stage / StageItem rows through
`stages.services.processes_load_builtin`, in the order of `PROCESS_TEMPLATES`.
"""

from __future__ import annotations

from stages.process_templates import ProcessTemplate
from stages.templates_data.b2b_bant import B2B_BANT
from stages.templates_data.consultation_led import CONSULTATION_LED
from stages.templates_data.epos_presales import EPOS_PRESALES
from stages.templates_data.open_source_services import OPEN_SOURCE_SERVICES
from stages.templates_data.revenue_bow_tie import REVENUE_BOW_TIE
from stages.templates_data.tools import TOOLS

__all__ = ["PROCESS_TEMPLATES", "TOOLS"]

PROCESS_TEMPLATES: tuple[ProcessTemplate, ...] = (
    EPOS_PRESALES,
    B2B_BANT,
    REVENUE_BOW_TIE,
    OPEN_SOURCE_SERVICES,
    CONSULTATION_LED,
)
