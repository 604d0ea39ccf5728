"""Production URLconf plus ``bench/noop``: the floor the intake is measured against.

The no-op view runs behind the same middleware stack as the intake and does only what every
intake request must: read the body and parse it as JSON. Served only with ``bench.settings_bench``.
"""

from __future__ import annotations

import orjson
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls import urlpatterns as production_urlpatterns


@csrf_exempt
def noop(request: HttpRequest) -> HttpResponse:
    try:
        orjson.loads(request.body)
    except orjson.JSONDecodeError:
        return JsonResponse({"message": "The body is not valid JSON."}, status=400)
    return JsonResponse({"status": "accepted"}, status=201)


urlpatterns = [*production_urlpatterns, path("bench/noop", noop, name="bench-noop")]
