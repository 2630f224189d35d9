"""Built-in tasks. Point ``WORKER_TASKS`` at your own modules to serve yours."""
