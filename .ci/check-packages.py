#!/usr/bin/env python3
"""Checks what the packed packages hold, as a user (and a symbol server) sees them.

usage: check-packages.py <packages dir> <version>

Every .nupkg: release notes, icon, README, repository URL and commit; no native executable (ELF/PE apphost) outside
the assemblies' own folders (a tool package is framework-dependent, any platform). Every library's .snupkg (a .NET tool ships none): a portable PDB for
each assembly, each carrying SourceLink that maps the deterministic source root (/_/) to the repository at the commit.
Prints every problem and exits 1 when there is one.
"""
import json, re, sys, zipfile
from pathlib import Path

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
