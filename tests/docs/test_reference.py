"""The reference pages agree with the code: every config key and every command is documented, and nothing else."""

import dataclasses
import re
import subprocess
import sys
import typing

from eegd.daemon.cli import build_parser
from eegd.daemon.service.config import Config, IngestConfig, StreamConfig


def loader_keys() -> set[str]:
    keys = set()
    for section, hint in typing.get_type_hints(Config).items():
        cls = {"stream": StreamConfig, "ingest": IngestConfig}.get(section, hint)
        keys |= {f"{section}.{f.name}" for f in dataclasses.fields(cls)}
    return keys


def test_configuration_page_documents_exactly_the_keys_the_loader_knows(docs):
    text = (docs / "configuration.md").read_text()
    documented = set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", text, flags=re.M))
    assert documented == loader_keys(), (sorted(documented - loader_keys()), sorted(loader_keys() - documented))


def commands() -> dict:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return sub.choices


def test_cli_page_and_help_name_the_same_commands(docs):
    text = (docs / "cli.md").read_text()
    documented = re.findall(r"^## `eegd ([a-z]+)", text, flags=re.M)
    helped = subprocess.run([sys.executable, "-m", "eegd.daemon.cli", "--help"], capture_output=True, text=True,
                            check=True).stdout
    listed = re.findall(r"^    ([a-z]+)\s", helped, flags=re.M)
    assert sorted(documented) == sorted(listed) == sorted(commands())


def test_cli_page_documents_every_option_of_every_command(docs):
    text = (docs / "cli.md").read_text()
    sections = dict(re.findall(r"^## `eegd ([a-z]+)[^\n]*\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S))
    missing = [f"{name} {opt}" for name, parser in commands().items() for action in parser._actions
               for opt in action.option_strings if opt.startswith("--") and opt != "--help"
               and f"`{opt}" not in sections.get(name, "")]
    assert missing == []
