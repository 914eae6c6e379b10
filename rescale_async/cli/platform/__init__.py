"""``rescale-async platform ...``: the Rescale platform API v2 from the command line.

Coretypes and analyses, jobs (list, get, submit from a YAML job definition, wait, stop,
delete, their files), files (upload, download, list, remove), and ``run``: the whole story of
a job from one YAML file. ``_parser`` builds the commands with the standard library only (the
``--help`` of every command works without the ``cli`` extra); ``_execute`` runs one, loading
rich and PyYAML then.
"""
