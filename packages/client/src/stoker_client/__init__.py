"""Stoker's Python client: submit jobs to the API and read them back, sync or async."""
