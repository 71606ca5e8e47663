"""Which adapter reads which connection; only the ones registered here can be configured."""

from epos.lib.errors import InvalidInput
from integrations.models import Connection
from integrations.sync import vivun_csv

SYSTEM_OF = {
    Connection.Adapter.VIVUN_CSV: Connection.System.VIVUN,
    Connection.Adapter.VIVUN_SALESFORCE: Connection.System.VIVUN,
    Connection.Adapter.VIVUN_HTTP: Connection.System.VIVUN,
    Connection.Adapter.GOOGLE_DRIVE: Connection.System.GOOGLE,
    Connection.Adapter.GOOGLE_CALENDAR: Connection.System.GOOGLE,
}
# adapter → (settings cleaner, source class)
AVAILABLE = {
    Connection.Adapter.VIVUN_CSV: (vivun_csv.clean_settings, vivun_csv.VivunCsvSource),
}


def check_adapter(system: str, adapter: str) -> None:
    if SYSTEM_OF.get(adapter) != system:
        raise InvalidInput(f"Adapter {adapter!r} does not belong to system {system!r}.")
    if adapter not in AVAILABLE:
        raise InvalidInput(f"The {adapter} adapter is not available yet.")


def clean_settings(adapter: str, settings: dict) -> dict:
    return AVAILABLE[adapter][0](settings)


def source_for(connection: Connection):
    """The adapter reading `connection` (DecryptionError when its credentials cannot be read)."""
    _clean, source_class = AVAILABLE[connection.adapter]
    return source_class(connection.settings, connection.credentials)
