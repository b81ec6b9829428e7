"""Several worker processes on gunicorn, and one reload for all of them.

- ``arbiter``: ``plughost run --workers N``: gunicorn's arbiter with aiohttp's
  worker class, and the coordinator's process beside it;
- ``service``: that process: the coordinator, the start-up table, the watcher;
- ``worker``: what runs in each worker: a host, its server, and its membership;
- ``channel``: JSON messages over a local socket, requests and replies both ways;
- ``coordinator``: prepares a change in every worker, then commits or aborts it
  in all of them; merges their status; runs the one watcher of ``--reload``;
- ``member``: a worker's side of that: stage, then wait for the decision;
- ``merge``: the status documents of all workers as one.
"""
