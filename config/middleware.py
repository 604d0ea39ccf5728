from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from functools import partial

from django.http import HttpRequest, HttpResponse

from config.request_context import set_request_id

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Tag each request with an id (the caller's X-Request-ID if sane) for logs and responses."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        set_request_id(request_id)
        try:
            response = self.get_response(request)
        except BaseException:
            set_request_id(None)
            raise
        response["X-Request-ID"] = request_id
        # Cleared when the server closes the response, not here: Django logs 4xx/5xx responses
        # ("Not Found: /x", "Internal Server Error") after every middleware has returned, and those
        # lines must carry the request id too.
        response._resource_closers.append(partial(set_request_id, None))
        return response
