"""Packs an orb source tree (Orb-Template layout) into one orb YAML on stdout, as
`circleci orb pack SRC_DIR` does, so the tests need no CircleCI CLI:

- YAML files at the root (`@orb.yml`) are merged at the top level;
- each root directory becomes a top-level key (`commands/`, `jobs/`, `executors/`,
  `examples/`), each YAML file in it (deeper directories only organise) an entry named after
  the file; dotfiles and non-YAML files are skipped, as are directories with no YAML
  (`scripts/`);
- in `jobs`, `commands` and `executors` every `<<include(path)>>` in a string is replaced by the
  content of `path` (relative to SRC_DIR; symlinks are followed), with each `<<` in it escaped
  to `\\<<` so CircleCI never reads the file's text as a parameter reference;
- keys are sorted and nested with four spaces, as the CLI's output is.

Usage: pack_orb.py SRC_DIR
"""

import io
import re
import sys
from pathlib import Path

from ruamel.yaml import YAML

INCLUDE = re.compile(r"<<[\s]*include\(([-\w/.]+)\)?[\s]*>>")
INCLUDE_SECTIONS = ("jobs", "commands", "executors")


def load(path: Path):
    data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    if data is None:
        return {}
    if not isinstance(data, dict):
        sys.exit(f"{path}: the root must be a YAML map")
    return data


def is_yaml(name: str) -> bool:
    return name.endswith((".yml", ".yaml"))


def section(directory: Path, into: dict, origins: dict) -> None:
    """Every YAML file under `directory`, keyed by file name, into `into`."""
    for entry in sorted(directory.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            section(entry, into, origins)
        elif is_yaml(entry.name):
            key = entry.name.rsplit(".", 1)[0]
            if key in origins:
                sys.exit(f"{origins[key]} and {entry} both define {key!r}")
            origins[key] = entry
            into[key] = load(entry)


def pack(src: Path) -> dict:
    if not (src / "@orb.yml").is_file():
        sys.exit(f"{src}/@orb.yml not found: is this the orb's src directory?")
    orb: dict = {}
    for entry in sorted(src.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            content: dict = {}
            section(entry, content, {})
            if content:
                orb.setdefault(entry.name, {}).update(content)
        elif is_yaml(entry.name):
            orb.update(load(entry))
    for name in INCLUDE_SECTIONS:
        if name in orb:
            orb[name] = resolve(orb[name], src)
    return orb


def resolve(value, src: Path):
    if isinstance(value, dict):
        return {k: resolve(v, src) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, src) for v in value]
    if isinstance(value, str):
        return INCLUDE.sub(lambda m: included(src / m.group(1)), value)
    return value


def included(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        sys.exit(f"could not read included file {path}: {e}")
    return text.replace("<<", "\\<<")


def sort_keys(value):
    if isinstance(value, dict):
        return {k: sort_keys(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [sort_keys(v) for v in value]
    return value


def dump(orb: dict) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.indent(mapping=4, sequence=4, offset=0)
    yaml.width = 4096

    def text(representer, data):
        style = "|" if "\n" in data else None
        return representer.represent_scalar("tag:yaml.org,2002:str", data, style=style)

    yaml.representer.add_representer(str, text)
    out = io.StringIO()
    yaml.dump(sort_keys(orb), out)
    return out.getvalue()


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: pack_orb.py SRC_DIR")
    sys.stdout.write(dump(pack(Path(sys.argv[1]))))


if __name__ == "__main__":
    main()
