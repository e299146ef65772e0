"""``python -m pkpd`` runs the command-line interface."""

from pkpd.cli import main

main()
