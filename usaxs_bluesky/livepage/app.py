"""The live page's HTTP server (Starlette): the page, its static files and its JSON endpoints.

Routes (under the configurable base path)::

    GET /                         the page (HTML)
    GET /static/<name>            plotly.min.js (from the plotly wheel), live.js, live.css
    GET /api/status               status block (any viewer)
    GET /api/runs                 the session's runs the key may see, with their files
    GET /api/latest               curves of the last runs by technique, latest frames
    GET /api/runs/<uid>/curves    one run's reduced curves
    GET /api/runs/<uid>/frame.png one run's 2-D frame (log colour, mask shown)
    GET /api/runs/<uid>/files/<n> download the run's n-th recorded file

A key goes in ``Authorization: Apikey <key>`` or ``?api_key=<key>``; a wrong
key gets 401 everywhere, a run the key may not see is 404 (as if absent).
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route

from ..catalog.access import Grant
from .access import UnknownKey, Viewer, key_of, viewer_for
from .data import NotAllowed
from .model import LiveModel

#: static files of the page: URL name -> (package, resource)
STATIC = {
    "plotly.min.js": ("plotly", "package_data/plotly.min.js"),
    "live.js": ("usaxs_bluesky.livepage", "static/live.js"),
    "live.css": ("usaxs_bluesky.livepage", "static/live.css"),
}
MEDIA = {".js": "text/javascript", ".css": "text/css"}
NO_STORE = {"Cache-Control": "no-store"}


def static_bytes(name: str) -> bytes:
    """The bytes of static file ``name`` (``KeyError`` for a name not in :data:`STATIC`)."""
    package, resource = STATIC[name]
    return resources.files(package).joinpath(resource).read_bytes()


def page_html(base: str, *, poll_ms: int) -> str:
    """The page's HTML with its base path and poll period filled in."""
    template = resources.files("usaxs_bluesky.livepage").joinpath("static/page.html").read_text()
    return template.replace("{{BASE}}", base).replace("{{POLL_MS}}", str(int(poll_ms)))


def normalize_base(base: str) -> str:
    """``/`` + base without trailing slash ('' for the root)."""
    base = "/" + base.strip().strip("/")
    return "" if base == "/" else base


def build_app(
    model: LiveModel,
    grants: Mapping[str, Grant],
    *,
    base_path: str = "",
    public_runs: bool = False,
    poll_ms: int = 2000,
) -> Starlette:
    """Return the ASGI app of the live page on ``model`` with the keys ``grants``."""
    base = normalize_base(base_path)
    cache: dict[str, bytes] = {}

    def viewer(request: Request) -> Viewer:
        return viewer_for(
            key_of(request.headers, request.query_params), grants, public_runs=public_runs
        )

    def guarded(handler):
        """The endpoint running ``handler(request, viewer)`` in a worker thread (files are read)."""

        async def endpoint(request: Request) -> Response:
            try:
                return await run_in_threadpool(handler, request, viewer(request))
            except UnknownKey:
                return JSONResponse({"detail": "invalid API key"}, status_code=401)
            except (KeyError, NotAllowed, IndexError):
                return JSONResponse({"detail": "not found"}, status_code=404)

        return endpoint

    def page(request: Request, who: Viewer) -> Response:
        return HTMLResponse(page_html(base, poll_ms=poll_ms), headers=NO_STORE)

    def static(request: Request, who: Viewer) -> Response:
        name = request.path_params["name"]
        if name not in cache:
            cache[name] = static_bytes(name)
        return Response(cache[name], media_type=MEDIA[Path(name).suffix])

    def status(request: Request, who: Viewer) -> Response:
        return _json({"viewer": who.label, **model.status()})

    def runs(request: Request, who: Viewer) -> Response:
        return _json(model.runs(who))

    def latest(request: Request, who: Viewer) -> Response:
        return _json(model.latest(who))

    def curves(request: Request, who: Viewer) -> Response:
        run = model.run(who, request.path_params["uid"])
        return _json({"uid": run.summary.uid, "curves": model.data.curves(run)})

    def frame(request: Request, who: Viewer) -> Response:
        run = model.run(who, request.path_params["uid"])
        return Response(model.data.frame_png(run), media_type="image/png", headers=NO_STORE)

    def download(request: Request, who: Viewer) -> Response:
        run = model.run(who, request.path_params["uid"])
        index = request.path_params["index"]
        if not 0 <= index < len(run.summary.files):
            raise IndexError(index)
        path = model.data.file(run.summary.files[index])
        return FileResponse(path, filename=path.name, media_type="application/octet-stream")

    routes = [
        Route("/", guarded(page)),
        Route("/static/{name}", guarded(static)),
        Route("/api/status", guarded(status)),
        Route("/api/runs", guarded(runs)),
        Route("/api/latest", guarded(latest)),
        Route("/api/runs/{uid}/curves", guarded(curves)),
        Route("/api/runs/{uid}/frame.png", guarded(frame)),
        Route("/api/runs/{uid}/files/{index:int}", guarded(download)),
    ]
    return Starlette(routes=[Mount(base, routes=routes)] if base else routes)


def _json(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, headers=NO_STORE)
