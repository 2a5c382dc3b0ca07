"""Static files, served by the app itself (one process, no web server needed): WhiteNoise, made
async-capable so that under daphne only static requests pay a hop to a thread.

WhiteNoise looks files up in a table built at start (or, with DEBUG, finds them by canonical path
only): a path that tries to climb out of the static dirs is simply not found — a 404, not a 500.
"""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from whitenoise.middleware import WhiteNoiseMiddleware


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    sync_capable = True
    async_capable = True

    def __init__(self, get_response, settings=settings):
        super().__init__(get_response, settings)
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        return super().__call__(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(self.static_prefix):
            response = await sync_to_async(self.static_response, thread_sensitive=False)(request)
            if response is not None:
                return response
        return await self.get_response(request)

    def static_response(self, request: HttpRequest) -> HttpResponse | None:
        if self.autorefresh:
            static_file = self.find_file(request.path_info)
        else:
            static_file = self.files.get(request.path_info)
        return None if static_file is None else self.serve(static_file, request)
