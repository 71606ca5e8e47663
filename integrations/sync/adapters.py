"""Which adapter reads which connection; only the ones registered here can be configured."""

from django.conf import settings as django_settings

from epos.lib.errors import InvalidInput
from integrations.models import Connection
from integrations.sync import (
    google_calendar,
    google_drive,
    google_writers,
    vivun_csv,
    vivun_http,
    vivun_salesforce,
)
from integrations.sync.ports import SourceError
from integrations.sync.writers import VivunWriter

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
    Connection.Adapter.VIVUN_SALESFORCE: (
        vivun_salesforce.clean_settings,
        vivun_salesforce.VivunSalesforceSource,
    ),
    Connection.Adapter.VIVUN_HTTP: (vivun_http.clean_settings, vivun_http.VivunHttpSource),
    Connection.Adapter.GOOGLE_DRIVE: (google_drive.clean_settings, google_drive.DriveSource),
    Connection.Adapter.GOOGLE_CALENDAR: (
        google_calendar.clean_settings,
        google_calendar.CalendarSource,
    ),
}
# adapter → the writer of what its source yields (the others: the Vivun writer)
WRITERS = {
    Connection.Adapter.GOOGLE_DRIVE: google_writers.DriveWriter,
    Connection.Adapter.GOOGLE_CALENDAR: google_writers.CalendarWriter,
}
# Adapters offered only while a setting is on: adapter → the setting's name.
GATED = {Connection.Adapter.VIVUN_HTTP: "EPOS_VIVUN_HTTP_EXPORT"}


def is_available(adapter: str) -> bool:
    return adapter in AVAILABLE and getattr(django_settings, GATED.get(adapter, ""), True)


def check_adapter(system: str, adapter: str) -> None:
    if SYSTEM_OF.get(adapter) != system:
        raise InvalidInput(f"Adapter {adapter!r} does not belong to system {system!r}.")
    if adapter in GATED and adapter in AVAILABLE and not is_available(adapter):
        raise InvalidInput(f"The {adapter} adapter is turned off ({GATED[adapter]}).")
    if adapter not in AVAILABLE:
        raise InvalidInput(f"The {adapter} adapter is not available yet.")


def clean_settings(adapter: str, settings: dict) -> dict:
    return AVAILABLE[adapter][0](settings)


def source_for(connection: Connection):
    """The adapter reading `connection` (DecryptionError when its credentials cannot be read)."""
    if not is_available(connection.adapter):
        raise SourceError(
            f"The {connection.get_adapter_display()} adapter is turned off on this server"
            f" ({GATED.get(connection.adapter, 'not available')})."
        )
    _clean, source_class = AVAILABLE[connection.adapter]
    return source_class(connection.settings, connection.credentials)


def writer_for(connection: Connection):
    """The writer of what `connection`'s source yields, inside the run's transaction."""
    return WRITERS.get(connection.adapter, VivunWriter)(connection)
