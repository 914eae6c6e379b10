"""Core transport: configuration, auth, retries, rate limits, errors and pagination.

Importable on its own: nothing here depends on the resources, models or orchestration above.
"""
