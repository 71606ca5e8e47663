"""Bad input gets a clear 400 before it can hurt: NUL bytes (PostgreSQL text refuses them and
answered 500) and numbers beyond what the database stores (an id or filter of 20 digits)."""

from urllib.parse import unquote_to_bytes

from django.db import DataError
from django.http import HttpResponseBadRequest, JsonResponse


def _bad_request(request, message: str):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=400)
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


def _has_nul(raw: str) -> bool:
    return "\x00" in raw or b"\x00" in unquote_to_bytes(raw)


class RejectBadInput:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _has_nul(request.META.get("QUERY_STRING", "")) or "\x00" in request.path:
            return _bad_request(request, "The address holds a NUL character, which EPOS refuses.")
        content_type = request.META.get("CONTENT_TYPE", "")
        if request.method == "POST" and content_type.startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            values = (value for _, values in request.POST.lists() for value in values)
            if any("\x00" in value for value in values):
                return _bad_request(request, "The form holds a NUL character, which EPOS refuses.")
        return self.get_response(request)

    def process_exception(self, request, exception):
        # A number too large for its column (an id of 20 digits in a filter): the input's
        # fault, and whatever the request was writing is rolled back with its transaction.
        if isinstance(exception, DataError):
            return _bad_request(request, "A value in the request is out of range or malformed.")
        return None
