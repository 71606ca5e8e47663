"""Domain errors raised by services; the API and the views turn them into 400/403/404/409."""


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str, **extra):
        super().__init__(message)
        self.message = message
        self.extra = extra

    def as_dict(self) -> dict:
        return {"detail": self.message, **self.extra}


class InvalidInput(DomainError):
    """The request makes no sense for this object (a stage of another process, no loss reason)."""

    status_code = 400


class Conflict(DomainError):
    """The request is valid but the current state refuses it."""

    status_code = 409


class GateBlocked(Conflict):
    def __init__(self, message: str, unmet_items: list[dict]):
        super().__init__(message, unmet_items=unmet_items)


class StaleVersion(Conflict):
    def __init__(self, current_version: int):
        super().__init__(
            "This opportunity was changed by someone else meanwhile; reload it and try again.",
            current_version=current_version,
            unmet_items=[],
        )


class Forbidden(DomainError):
    status_code = 403


class NotFound(DomainError):
    """No such object, or none the actor may see (a 404 either way: no hint that it exists)."""

    status_code = 404
