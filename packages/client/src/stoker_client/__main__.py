"""``python -m stoker_client``: the ``stoker`` command."""

from stoker_client.cli import main

main()
