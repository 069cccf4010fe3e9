#!/usr/bin/env python3
"""Writes packaging/debian/copyright, the machine-readable (DEP-5) copyright file of the Debian
packages: pwsync itself, then one paragraph for every crate linked into the packaged binaries,
with the licence Cargo.lock's packages declare (read through `cargo metadata`), then the text of
every licence named.

    packaging/debian/copyright.py           rewrite the file
    packaging/debian/copyright.py --check   exit 1 if the file is not what this script writes

Crates are the normal (not dev-, not build-) dependencies of the `pwsync` package, for the
machine's own target, at the versions the lock file pins. The Files paths are the directories
`cargo vendor --versioned-dirs` would create. Licence texts Debian does not ship in
/usr/share/common-licenses are in packaging/debian/licenses/; a licence that is neither fails the
script, so that a new dependency's licence is read before it is shipped. Never edit the output by
hand.
"""
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUTPUT = os.path.join(HERE, "copyright")
MAINTAINER = "pwsync maintainers <maintainers@pwsync.example>"
# Licences whose text Debian ships: the copyright file refers to it instead of repeating it.
COMMON = {"Apache-2.0": "Apache-2.0", "CC0-1.0": "CC0-1.0", "MPL-2.0": "MPL-2.0"}


def host_triple():
    out = subprocess.run(["rustc", "-vV"], check=True, capture_output=True, text=True).stdout
    return next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("host: "))


def linked_crates(metadata):
    packages = {p["id"]: p for p in metadata["packages"]}
    nodes = {n["id"]: n for n in metadata["resolve"]["nodes"]}
    root = next(p["id"] for p in metadata["packages"] if p["name"] == "pwsync" and p["source"] is None)
    seen, todo = set(), [root]
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        for dep in nodes[node]["deps"]:
            if any(kind["kind"] is None for kind in dep["dep_kinds"]):
                todo.append(dep["pkg"])
    # The workspace's own crates are pwsync's, under its Files: * paragraph.
    crates = [packages[i] for i in seen if packages[i]["source"] is not None]
    return sorted(crates, key=lambda p: (p["name"], [int(x) if x.isdigit() else x for x in re.split(r"[.+-]", p["version"])]))


def tokens(expression):
    # Old-style "MIT/Apache-2.0" means MIT OR Apache-2.0.
    return re.findall(r"\(|\)|[^\s()]+", expression.replace("/", " OR "))


def parse(expression):
    """SPDX expression -> tree: ("or"|"and", [children]) or a licence name (WITH kept in it)."""
    toks = tokens(expression)
    pos = 0

    def peek():
        return toks[pos] if pos < len(toks) else None

    def take():
        nonlocal pos
        pos += 1
        return toks[pos - 1]

    def primary():
        if peek() == "(":
            take()
            node = disjunction()
            if take() != ")":
                raise ValueError(expression)
            return node
        name = take()
        if peek() == "WITH":
            take()
            name = f"{name} WITH {take()}"
        return name

    def conjunction():
        items = [primary()]
        while peek() == "AND":
            take()
            items.append(primary())
        return items[0] if len(items) == 1 else ("and", items)

    def disjunction():
        items = [conjunction()]
        while peek() == "OR":
            take()
            items.append(conjunction())
        return items[0] if len(items) == 1 else ("or", items)

    tree = disjunction()
    if peek() is not None:
        raise ValueError(expression)
    return tree


def dep5_name(name):
    if " WITH " in name:
        licence, exception = name.split(" WITH ")
        return f"{licence} with {exception.removesuffix('-exception')} exception"
    return name


def render(tree):
    """DEP-5 has no parentheses: "and" binds tighter than "or", and a comma ends a group
    ("A or B, and C")."""
    if isinstance(tree, str):
        return dep5_name(tree)
    op, items = tree
    if op == "or":
        if any(isinstance(i, tuple) and any(isinstance(j, tuple) for j in i[1]) for i in items):
            raise ValueError(f"licence expression too deep for DEP-5: {tree}")
        return " or ".join(render(i) for i in items)
    if any(isinstance(i, tuple) and i[0] == "and" for i in items):
        raise ValueError(f"licence expression too deep for DEP-5: {tree}")
    joiner = ", and " if any(isinstance(i, tuple) for i in items) else " and "
    return joiner.join(render(i) for i in items)


def leaves(tree):
    if isinstance(tree, str):
        return {tree}
    return set().union(*(leaves(i) for i in tree[1]))


def field(name, value):
    lines = value.strip("\n").split("\n")
    out = [f"{name}: {lines[0]}"]
    out += [f" {line}" if line.strip() else " ." for line in lines[1:]]
    return "\n".join(out)


def licence_text(name):
    if " WITH " in name:
        licence, exception = name.split(" WITH ")
        return licence_text(licence) + "\n\n" + read_licence(exception)
    if name in COMMON:
        return (f"On Debian systems, the complete text of this licence is in\n"
                f"/usr/share/common-licenses/{COMMON[name]}.")
    return read_licence(name)


def read_licence(name):
    path = os.path.join(HERE, "licenses", name)
    if not os.path.exists(path):
        sys.exit(f"copyright.py: no text for the licence {name!r}: add it as packaging/debian/licenses/{name}")
    with open(path, encoding="utf-8") as f:
        return f.read().strip("\n")


def generate():
    metadata = json.loads(subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked", "--filter-platform", host_triple()],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout)
    paragraphs = [
        "\n".join([
            "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/",
            "Upstream-Name: pwsync",
            f"Upstream-Contact: {MAINTAINER}",
            field("Comment", "Generated by packaging/debian/copyright.py from Cargo.lock. The binaries link\n"
                  "the Rust crates below statically; each Files path is the directory\n"
                  "`cargo vendor --versioned-dirs` gives the crate's source."),
        ]),
        "\n".join(["Files: *", "Copyright: 2026 the pwsync authors", "License: Apache-2.0"]),
    ]
    used = {"Apache-2.0"}
    for crate in linked_crates(metadata):
        if not crate.get("license"):
            sys.exit(f"copyright.py: {crate['name']} {crate['version']} declares no licence")
        tree = parse(crate["license"])
        used |= leaves(tree)
        holders = "\n".join(crate["authors"]) or f"the {crate['name']} authors"
        paragraphs.append("\n".join([
            f"Files: vendor/{crate['name']}-{crate['version']}/*",
            field("Copyright", holders),
            f"License: {render(tree)}",
        ]))
    for name in sorted(used):
        paragraphs.append(field("License", f"{dep5_name(name)}\n{licence_text(name)}"))
    return "\n\n".join(paragraphs) + "\n"


def main():
    text = generate()
    if sys.argv[1:] == ["--check"]:
        with open(OUTPUT, encoding="utf-8") as f:
            if f.read() != text:
                sys.exit("packaging/debian/copyright is stale: run packaging/debian/copyright.py")
        return
    if sys.argv[1:]:
        sys.exit(__doc__)
    with open(OUTPUT, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
