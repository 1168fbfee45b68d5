"""``python -m robustlab`` runs the command-line interface."""

from robustlab.cli import main

main()
