"""A local stand-in for RunningHub, for tests and offline demos (never imported by the nodes).

``Emulator`` serves the documented wire shapes (docs/runninghub-api.md) on 127.0.0.1 and lets
tests steer it: ``inject(endpoint, kind, count, **params)`` for transport/API faults,
``fail_next_tasks`` for FAILED tasks, ``key_type`` for 1014, ``expire_results`` for 1004/404,
``expire_uploads(seen_at=...)`` for 1013 at submit or as a task failure, ``charge_in`` for the
usage field that carries the charge, ``report_charge_as`` for a charge that is no amount
("1E+30", "NaN", "-0.75"), ``cancel_task`` for CANCEL, ``failed_reason_as_text`` for a
string ``failedReason``; ``real_people`` (True, or the files that show a real person: such references
sent as URLs make a task fail 1505 once it runs), ``asset_s`` and ``fail_next_conversions`` for the
assets API (create/query/list/delete; ``asset://<id>`` of an ACTIVE asset is taken as a reference);
``break_results`` for SUCCESS answers without a usable video URL. A test holds a task in a state
with a long ``set_clock`` and moves on with ``skip(seconds)`` or ``end_tasks_now()`` (an answer held by a
long delay fault: ``answer_now()``), so no state it waits for can pass before it is seen, however slow
the machine.
New tasks read CREATE briefly before QUEUED (``set_clock(create_s=...)``). Model calls accept any https reference URL (painted grey,
as the emulator cannot fetch it) besides its own upload URLs.

Fault kinds (consumed one per matching request):
  http_error(status=503, retry_after=None, body="")  reply with that HTTP status
  reset                                              read the request, close without a reply
  error_code(code="1011", message=...)               HTTP 200 in the endpoint's response family
  delay(seconds=2.0)                                 wait, then answer normally
  slow(bytes_per_s=...)                              downloads/files: throttle the body
  truncate(fraction=0.5)                             downloads/files: full Content-Length, partial body
  timeout_after_create(seconds=5.0, reset=False,     submit, asset_create: create, then wait (and reset,
                       status=None)                    or answer with that HTTP status, e.g. 504)
  echo_key(status=200)                               an error that repeats the caller's key (200: in the
                                                     endpoint's family as code 1000; else plain text)
  redirect(location=..., status=302)                 answer with a redirect to ``location``
  answer_after_create(answer=..., status=200)        submit: create the task, then answer with something that
                                                     proves nothing: not_json, empty, list, code_500, html,
                                                     error_1000, task_id_path, task_id_long, task_id_number
  not_found_at_first(queries=0, seconds=0.0)        submit: the task it makes answers queries as an unknown
                                                     task (1004) for its first ``queries`` queries and its
                                                     first ``seconds`` (``skip`` moves that on too), then as
                                                     itself: a new task not yet queryable [U]

Every model of the table (runninghub_video/remote/models.py) has its submit and price-preview endpoint,
validated per the table; uploads take images, MP4 videos and WAV/MP3 audio (emulator/validate.py).

Result videos: see :mod:`runninghub_video.emulator.video` — N vertical bands, band i painted
with the mean RGB of image (or video) reference i, plus a moving marker in the top 32 rows; a
tone when the model makes sound; the last frame as PNG when ``returnLastFrame`` is sent.
Upload URLs look like ``<base>/files/<sha256>.png``, results ``<base>/output/<taskId>.mp4`` and
``.png`` (endpoint name ``last_frame`` for faults). Task times default to realistic ones per
model (``time_scale`` shortens them); tests pass short ``queue_s``/``run_s``.
"""
from __future__ import annotations

from .control import Emulator, serve

__all__ = ["Emulator", "serve"]
