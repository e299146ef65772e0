"""Command-line interface: ``pkpd run | validate | summary | plot | models``.

Every command turns a :class:`pkpd.errors.PKPDError` into one line on stderr and
exit code 2 (no traceback, no partial output).
"""

from __future__ import annotations

import functools
import sys

import click

from pkpd import __version__
from pkpd.errors import PKPDError


def _user_errors(fn):
    """Report pkpd's own errors as one line on stderr with exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except PKPDError as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(2)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pkpd")
def main():
    """pkpd: mechanistic PK/PD simulation (neratinib + ruxolitinib, EGFR-JAK-STAT3, TNBC)."""


@main.command("models")
@click.argument("name", required=False)
@_user_errors
def models_cmd(name):
    """List every model and drug with its parameters, units, values and sources (* = assumed)."""
    from pkpd.models import MODELS, get_model
    from pkpd.models.drugs import DRUGS, get_drug

    def show(title, table):
        click.echo(title)
        for r in table:
            flag = "*" if r["assumed"] else " "
            click.echo(f"  {flag} {r['name']:<12} {r['value']:>12.6g} {r['unit']:<8} {r['description']}")
            click.echo(f"      source: {r['source']}")

    if name:
        if name in MODELS:
            show(f"model {name}: {get_model(name).description}", get_model(name).table())
        else:
            drug = get_drug(name)
            show(f"drug {drug.name} ({drug.structure}, MW {drug.mw.value:g} g/mol, fu {drug.fu.value:g})",
                 drug.table())
        return
    for key, spec in MODELS.items():
        show(f"model {key}: {spec.description}", spec.table())
        click.echo("")
    for key, drug in DRUGS.items():
        show(f"drug {key} ({drug.structure})", drug.table())
        click.echo("")
    click.echo("* = assumed value (a guess or a calibration made for pkpd), not a published estimate")


if __name__ == "__main__":  # pragma: no cover
    main()
