"""The Rescale platform API v2 in the emulator: ``/api/v2/...`` beside HTC's ``/api/v1/...``.

One ``Emulator`` (in process or served) answers both APIs; ``emu.platform_url`` is the v2 root
and ``emu.platform_api_key`` a key it accepts (``Authorization: Token <key>``; the same key
as HTC's, as on Rescale). ``emu.platform`` holds the state for tests: ``jobs``, ``files``,
``jobs_created``, ``submissions``, ``duplicate_submissions``, ``await add_file(name,
content)``, ``await wait_for(job_id, status, cluster=...)``, ``throttles``.

How it behaves (settings in ``PlatformConfig``, ``EmulatorConfig.platform``)
-------------------------------------------------------------------------
- **Catalogue.** A dozen coretypes (allowed ``cores`` per slot, memory, prices, one
  inactive), analyses (``user_included`` version ``"0"`` and a few tiles whose versions list
  ``allowedCoreTypes``), compute prices as decimal strings.
- **Strict job creation.** A missing name, analyses, command or analysis version, an unknown
  coretype or analysis, a ``coresPerSlot`` the coretype does not allow, an unknown input file:
  400 with DRF field maps nested like the request. Unknown fields are ignored.
- **Jobs run for real**, once submitted: Pending, Queued (the cluster exists from here: Not
  Started, Starting, Started), Started, Validated, Executing, each ``status_delay`` apart.
  Executing stages the inputs into ``<jobs_root>/platform/jobs/<id>/work`` (zips extracted
  unless ``decompress: false``) and runs each analysis's ``command`` there in order, as
  ``bash -c <command>`` in its own process group, stdout and stderr in
  ``process_output.log``. The command sees the host variables of ``inherit_env``, its
  analysis's ``envVars``, and ``HOME`` (the job's directory, so ``$HOME/work`` is where it
  runs), ``RESCALE_JOB_ID``, ``RESCALE_RUN_ID``, ``RESCALE_CORE_TYPE``,
  ``RESCALE_CORES_PER_SLOT``, ``RESCALE_SLOTS``, ``RESCALE_NODES_PER_SLOT``,
  ``RESCALE_NODES``, ``RESCALE_WALLTIME_HOURS``, ``RESCALE_API_KEY`` (a key valid while the
  job runs) and, served, ``RESCALE_API_URL`` (the v2 root). The job is then Completed with
  statusReason "Completed successfully", or the failure ("Command exited with code 3",
  "Exceeded the walltime of 1 hour", "Job stopped by user request"); the cluster goes Stop
  Requested, Stopping, Stopped. ``walltime`` hours last ``walltime_hour`` seconds each.
- **Outputs.** Every file the job left new or changed in ``work`` is an output (typeId 5,
  ``relativePath`` kept, SHA-512 in ``fileChecksums``, ``decryptedSize``), and so is
  ``process_output.log``.
- **Stop** (202) is graceful: SIGTERM to the command's process group (SIGKILL after
  ``kill_grace``), outputs kept. **Delete** answers 400 until the cluster is Stopped.
  **PATCH** and a second **submit** of a submitted job answer 200 and change nothing.
- **Files.** Uploads (``POST files/contents/``, the part named ``file``) stream to disk;
  ``files/{id}/contents/`` honours ``Range: bytes=a-b`` (206, a range past the end clamped,
  416 when it starts past it), streamed from disk in chunks, unless ``ignore_range``.
- **Rate limits.** ``rate_limits`` puts a token bucket on a scope (``job-submission``:
  ``POST jobs/{id}/submit/``; ``jobs-usage``: other ``GET jobs/...``; ``user``: the rest):
  over it, 429 with ``Retry-After`` and DRF's throttle detail. Faults (``emu.faults``) apply to
  both APIs; platform rule paths are templates relative to ``/api/v2`` such as
  ``/jobs/{jobId}/statuses/``.

Not emulated: persistence (``db_path`` keeps HTC state only; what an earlier run left under
``<jobs_root>/platform`` is removed at start), storage devices, templates, DOE jobs. A running job's
cluster answers on SSH (``_ssh``: 127.0.0.1, a port per job, the profile's public key). In process,
``httpx``'s ASGI transport holds a whole response body in memory: big downloads belong to the served
emulator.
"""

from ._config import DOCUMENTED_RATE_LIMITS, SCOPES, PlatformConfig, ScopeLimit

__all__ = ["DOCUMENTED_RATE_LIMITS", "SCOPES", "PlatformConfig", "ScopeLimit"]
