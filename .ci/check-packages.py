#!/usr/bin/env python3
"""Checks what the packed packages hold, as a user (and a symbol server) sees them.

usage: check-packages.py <packages dir> <version>

Every .nupkg: release notes, icon, README, repository URL and commit; no native executable (ELF/PE apphost) outside
the assemblies' own folders (a tool package is framework-dependent, any platform). Every library's .snupkg (a .NET tool ships none): a portable PDB for
each assembly, each carrying SourceLink that maps the deterministic source root (/_/) to the repository at the commit.
Every library's XML documentation documents its public API only: each <member> names a type, or a member of a type,
declared in the package's PublicAPI.Shipped.txt/PublicAPI.Unshipped.txt (src/<package id>/), nothing internal.
Prints every problem and exits 1 when there is one.
"""
import json, re, sys, zipfile
import xml.etree.ElementTree as ET
from pathlib import Path


def strip_generics(text):
    """Ns.Type<T>.M<U> -> Ns.Type.M; Ns.Type`1.M``1 -> Ns.Type.M"""
    previous = None
    while previous != text:
        previous = text
        text = re.sub(r"<[^<>]*>", "", text)
    return re.sub(r"`+\d+", "", text)


def public_api_names(project_dir):
    """Every type and member path the package declares (Ns.Type, Ns.Type.Member), generics stripped."""
    names = set()
    for baseline in ("PublicAPI.Shipped.txt", "PublicAPI.Unshipped.txt"):
        path = project_dir / baseline
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8-sig").splitlines():
            line = line.strip()
            if not line or line.startswith("#") or line.startswith("*REMOVED*"):
                continue
            line = line.lstrip("~")
            words = line.split(" ")
            while words and words[0] in ("static", "override", "abstract", "virtual", "const", "readonly", "sealed", "new"):
                words = words[1:]
            line = " ".join(words).split(" -> ")[0].split(" = ")[0]
            line = strip_generics(line.split("(")[0])
            line = re.sub(r"\[[^\]]*\]", "", line)  # this[int i]
            parts = line.split(".")
            for i in range(1, len(parts) + 1):
                names.add(".".join(parts[:i]))
    return names


def undeclared_doc_members(xml_text, names):
    """The doc ids of <member>s that are not in the declared public API."""
    bad = []
    for member in ET.fromstring(xml_text).iter("member"):
        doc_id = member.get("name", "")
        kind, _, body = doc_id.partition(":")
        body = strip_generics(body.split("(")[0])
        if kind == "T":
            if body not in names:
                bad.append(doc_id)
            continue
        type_name, _, name = body.rpartition(".")
        if type_name not in names:
            bad.append(doc_id)
            continue
        if name == "#ctor":
            name = type_name.rsplit(".", 1)[-1]
        elif name == "Item":
            name = "this" if f"{type_name}.this" in names else name
        elif name.startswith("op_"):
            if not any(n.startswith(type_name + ".") and "operator" in n for n in names):
                bad.append(doc_id)
            continue
        if f"{type_name}.{name}" not in names:
            bad.append(doc_id)
    return bad

problems = []
root, version = Path(sys.argv[1]), sys.argv[2]
nupkgs = sorted(root.glob(f"*.{version}.nupkg"))
if not nupkgs:
    problems.append(f"no package of version {version} in {root}")
for nupkg in nupkgs:
    name = nupkg.name
    with zipfile.ZipFile(nupkg) as z:
        files = z.namelist()
        nuspec = z.read(next(f for f in files if f.endswith(".nuspec"))).decode("utf-8-sig")
        if not re.search(r"<releaseNotes>\s*## \[", nuspec):
            problems.append(f"{name}: no release notes from CHANGELOG.md")
        if "<icon>icon.png</icon>" not in nuspec or "icon.png" not in files:
            problems.append(f"{name}: no icon")
        if "<readme>README.md</readme>" not in nuspec:
            problems.append(f"{name}: no README")
        repo = re.search(r'<repository type="git" url="(https://[^"]+)"[^>]* commit="([0-9a-f]{40})"', nuspec)
        if not repo:
            problems.append(f"{name}: no repository url and commit")
        for f in files:
            head = z.read(f)[:4]
            if head == b"\x7fELF" or (head[:2] == b"MZ" and not f.endswith(".dll")):
                problems.append(f"{name}: native executable {f} (a framework-dependent package carries none)")
        dlls = [f for f in files if f.endswith(".dll") and Path(f).stem.startswith(("Bpi.Orchestration", "bpi-orchestration"))]
        if '<packageType name="DotnetTool"' not in nuspec:
            for dll in dlls:
                doc = dll[:-4] + ".xml"
                project = Path("src") / Path(dll).stem
                if doc not in files:
                    problems.append(f"{name}: no XML documentation {doc}")
                elif not (project / "PublicAPI.Shipped.txt").exists():
                    problems.append(f"{name}: no {project}/PublicAPI.Shipped.txt to check {doc} against (run from the repository root)")
                else:
                    bad = undeclared_doc_members(z.read(doc), public_api_names(project))
                    if bad:
                        problems.append(f"{name}: {doc} documents {len(bad)} member(s) outside the public API, e.g. {', '.join(bad[:3])}")
    snupkg = nupkg.with_suffix(".snupkg")
    if '<packageType name="DotnetTool"' in nuspec:
        continue  # a .NET tool is a program: no symbol package
    if not snupkg.exists():
        problems.append(f"{name}: no symbol package {snupkg.name}")
        continue
    with zipfile.ZipFile(snupkg) as s:
        for dll in dlls:
            pdb = dll[:-4] + ".pdb"
            if pdb not in s.namelist():
                problems.append(f"{snupkg.name}: no {pdb}")
                continue
            data = s.read(pdb)
            if data[:4] != b"BSJB":
                problems.append(f"{snupkg.name}: {pdb} is not a portable PDB")
                continue
            # The SourceLink custom debug information is a UTF-8 JSON blob: {"documents":{"<local path>*":"<url>*"}}
            m = re.search(rb'\{"documents":\{[^{}]*\}\}', data)
            if not m:
                problems.append(f"{snupkg.name}: {pdb} has no SourceLink")
                continue
            documents = json.loads(m.group(0))["documents"]
            for local, url in documents.items():
                if not local.startswith("/_/"):
                    problems.append(f"{snupkg.name}: {pdb} maps the local path {local} (not deterministic: build with ContinuousIntegrationBuild)")
                if repo and not url.startswith(repo.group(1).replace("https://github.com/", "https://raw.githubusercontent.com/") + "/" + repo.group(2) + "/"):
                    problems.append(f"{snupkg.name}: {pdb} maps {local} to {url}, not to the repository at commit {repo.group(2)}")

for p in problems:
    print("package problem: " + p, file=sys.stderr)
print(f"checked {len(nupkgs)} packages and their symbols: {'ok' if not problems else str(len(problems)) + ' problem(s)'}")
sys.exit(1 if problems else 0)
