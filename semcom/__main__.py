"""``python -m semcom``: the command line (:mod:`semcom.cli`)."""

from semcom.cli import main

main(prog_name="semcom")
