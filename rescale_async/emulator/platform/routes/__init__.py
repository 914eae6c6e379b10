"""The platform API's routes, one module per resource group, each with a ``routes()`` table."""
