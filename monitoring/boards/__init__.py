"""One module per dashboard; each ``render()`` returns the dashboard's JSON text."""
