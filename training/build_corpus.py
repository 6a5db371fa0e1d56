#!/usr/bin/env python3
"""Build the training corpus for the bundled Attention Lens models.

Sources (all permissively licensed, see CORPUS.md):
  * npm packages pinned in corpus/package.json + package-lock.json (installed into corpus/node_modules)
  * the Python 3.11 standard library shipped by Debian (libpython3.11-stdlib, libpython3.11-minimal)
  * the reStructuredText sources of the Python 3.11 documentation (Debian package python3.11-doc)

Output (under data/, git-ignored):
  corpus.jsonl   one JSON object per document: {"path", "group", "split", "text"}, deterministic order
  corpus.json    summary: per-source licences and versions, per-group byte counts, the corpus sha256

Selection is deterministic: within each group files are ordered by sha256("select:" + path) and taken until
the group's byte budget is reached; a file is held out when int(sha256("heldout:" + path)[:8], 16) % 100 == 0.
"""
import hashlib
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
NODE_MODULES = os.path.join(HERE, "corpus", "node_modules")
DATA = os.path.join(HERE, "data")
PY_DOC_SOURCES = "/usr/share/doc/python3.11/html/_sources"
DEBIAN_STDLIB_PACKAGES = ["libpython3.11-minimal", "libpython3.11-stdlib"]

ALLOWED_LICENSES = {"MIT", "Apache-2.0", "ISC", "BSD-2-Clause", "BSD-3-Clause", "0BSD", "PSF-2.0"}
MAX_FILE_BYTES = 768 * 1024          # skips lib.dom.d.ts (1.9 MB)
EOT = "<|endoftext|>"

# Byte budgets per group (total about 14 MB).
BUDGETS = {
    "typescript": 5_000_000,
    "javascript": 1_700_000,
    "python": 3_500_000,
    "english": 4_000_000,
}

# Always included (before the hash-ordered selection fills the budget): the VS Code API declarations.
ALWAYS = {"npm/@types/vscode/index.d.ts"}

# npm packages used and which of their files belong to which group.
NPM_TS_PACKAGES = ["typescript", "@types/node", "@types/vscode", "rxjs", "zod", "undici-types"]
NPM_SKIP_JS = {"typescript", "@types/node", "@types/vscode", "rxjs", "zod", "undici-types", "tslib"}


def sha256_hex(s):
    return hashlib.sha256(s.encode("utf-8")).hexdigest()


def read_text(fs_path):
    with open(fs_path, "rb") as f:
        raw = f.read()
    if b"\x00" in raw:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if EOT in text or not text.strip():
        return None
    return text


def walk(root):
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            out.append(os.path.join(dirpath, name))
    return out


def npm_packages():
    """All installed packages (top level and scoped) with name, version, licence and folder."""
    pkgs = []
    for entry in sorted(os.listdir(NODE_MODULES)):
        if entry.startswith("."):
            continue
        dirs = [os.path.join(NODE_MODULES, entry)]
        if entry.startswith("@"):
            dirs = [os.path.join(NODE_MODULES, entry, e) for e in sorted(os.listdir(dirs[0]))]
        for d in dirs:
            pj = os.path.join(d, "package.json")
            if not os.path.isfile(pj):
                continue
            with open(pj, encoding="utf-8") as f:
                meta = json.load(f)
            lic = meta.get("license")
            if isinstance(lic, dict):
                lic = lic.get("type")
            pkgs.append({"name": meta["name"], "version": meta["version"], "license": lic, "dir": d})
    return pkgs


def candidates():
    """(virtual path, filesystem path, group) for every candidate file, plus source records."""
    files, sources = [], []
    for pkg in npm_packages():
        name, d = pkg["name"], pkg["dir"]
        used = False
        for fp in walk(d):
            rel = os.path.relpath(fp, d).replace(os.sep, "/")
            if "/node_modules/" in "/" + rel:
                continue
            group = None
            if name in NPM_TS_PACKAGES:
                if name == "typescript":
                    ok = rel.startswith("lib/lib.") and rel.endswith(".d.ts")
                elif name in ("rxjs", "zod"):
                    ok = rel.startswith("src/") and rel.endswith(".ts")
                else:
                    ok = rel.endswith(".d.ts")
                group = "typescript" if ok else None
            elif name not in NPM_SKIP_JS and rel.endswith(".js") and not rel.endswith(".min.js"):
                if name == "lodash" and (rel.startswith("fp") or rel in ("lodash.js", "core.js")):
                    continue
                if rel.startswith("dist/"):
                    continue
                group = "javascript"
            if rel.lower() == "readme.md" and name != "tslib":
                group = "english"
            if group:
                files.append(("npm/%s/%s" % (name, rel), fp, group))
                used = True
        if used:
            if pkg["license"] not in ALLOWED_LICENSES:
                sys.exit("package %s has licence %r, not in the allowed list" % (name, pkg["license"]))
            sources.append({"source": "npm:%s@%s" % (name, pkg["version"]), "license": pkg["license"]})

    listing = subprocess.run(["dpkg", "-L"] + DEBIAN_STDLIB_PACKAGES, check=True, capture_output=True,
                             text=True).stdout.split("\n")
    for fp in sorted(set(listing)):
        if not (fp.startswith("/usr/lib/python3.11/") and fp.endswith(".py") and os.path.isfile(fp)):
            continue
        rel = fp[len("/usr/lib/python3.11/"):]
        base = os.path.basename(rel)
        if "/test/" in "/" + rel or "/tests/" in "/" + rel or rel.startswith("pydoc_data/") \
                or base.startswith("_sysconfigdata") or base in ("sitecustomize.py", "_distutils_system_mod.py"):
            continue
        files.append(("python3.11/" + rel, fp, "python"))
    for pkg in DEBIAN_STDLIB_PACKAGES + ["python3.11-doc"]:
        ver = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], check=True, capture_output=True,
                             text=True).stdout
        sources.append({"source": "debian:%s=%s" % (pkg, ver), "license": "PSF-2.0"})

    for fp in walk(PY_DOC_SOURCES):
        rel = os.path.relpath(fp, PY_DOC_SOURCES).replace(os.sep, "/")
        if rel.endswith(".rst.txt"):
            files.append(("python3.11-doc/" + rel, fp, "english"))
    return files, sources


def main():
    files, sources = candidates()
    by_group = {g: [] for g in BUDGETS}
    for vpath, fp, group in files:
        # files listed in ALWAYS sort first (key "0..."), then the rest by hash
        key = "0" if vpath in ALWAYS else "1" + sha256_hex("select:" + vpath)
        by_group[group].append((key, vpath, fp))
    docs = []
    stats = {}
    for group, budget in BUDGETS.items():
        total, n = 0, 0
        for _, vpath, fp in sorted(by_group[group]):
            if os.path.getsize(fp) > MAX_FILE_BYTES:
                continue
            text = read_text(fp)
            if text is None:
                continue
            nbytes = len(text.encode("utf-8"))
            if total + nbytes > budget:
                continue
            total += nbytes
            n += 1
            split = "heldout" if int(sha256_hex("heldout:" + vpath)[:8], 16) % 100 == 0 else "train"
            docs.append({"path": vpath, "group": group, "split": split, "text": text})
        stats[group] = {"files": n, "bytes": total}
    docs.sort(key=lambda d: d["path"])

    os.makedirs(DATA, exist_ok=True)
    out = os.path.join(DATA, "corpus.jsonl")
    h = hashlib.sha256()
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        for d in docs:
            line = json.dumps(d, ensure_ascii=False, sort_keys=True) + "\n"
            h.update(line.encode("utf-8"))
            f.write(line)
    split_stats = {}
    for d in docs:
        s = split_stats.setdefault(d["split"], {"files": 0, "bytes": 0})
        s["files"] += 1
        s["bytes"] += len(d["text"].encode("utf-8"))
    summary = {
        "sha256": h.hexdigest(),
        "file": "data/corpus.jsonl",
        "documents": len(docs),
        "bytes": sum(s["bytes"] for s in stats.values()),
        "groups": stats,
        "splits": split_stats,
        "sources": sources,
        "heldout": [d["path"] for d in docs if d["split"] == "heldout"],
    }
    with open(os.path.join(DATA, "corpus.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")
    write_corpus_md(summary, docs)
    print(json.dumps({k: summary[k] for k in ("sha256", "documents", "bytes", "groups", "splits")}, indent=1))


def write_corpus_md(summary, docs):
    per_source = {}
    for d in docs:
        p = d["path"]
        if p.startswith("npm/"):
            parts = p.split("/")
            key = "/".join(parts[1:3]) if parts[1].startswith("@") else parts[1]
            key = "npm:" + key
        elif p.startswith("python3.11-doc/"):
            key = "python3.11-doc"
        else:
            key = "python3.11"
        s = per_source.setdefault(key, {"files": 0, "bytes": 0})
        s["files"] += 1
        s["bytes"] += len(d["text"].encode("utf-8"))
    rows = []
    for src in summary["sources"]:
        name = src["source"]
        if name.startswith("npm:"):
            pkg, ver = name[4:].rsplit("@", 1)
            used = per_source.get("npm:" + pkg, {"files": 0, "bytes": 0})
            origin = "npm `%s@%s`" % (pkg, ver)
        else:
            pkg, ver = name[len("debian:"):].split("=", 1)
            used = per_source.get("python3.11-doc" if pkg == "python3.11-doc" else "python3.11", None)
            if pkg == "libpython3.11-minimal":
                used = None  # counted with libpython3.11-stdlib
            origin = "Debian `%s` %s" % (pkg, ver)
        counts = ("%d | %s" % (used["files"], "{:,}".format(used["bytes"]))) if used else "(with stdlib) | "
        rows.append("| %s | %s | %s |" % (origin, src["license"], counts))
    groups = "\n".join("| %s | %d | %s |" % (g, v["files"], "{:,}".format(v["bytes"]))
                       for g, v in summary["groups"].items())
    text = CORPUS_MD.format(sha=summary["sha256"], docs=summary["documents"], bytes="{:,}".format(summary["bytes"]),
                            rows="\n".join(rows), groups=groups,
                            heldout_files=summary["splits"]["heldout"]["files"],
                            heldout_bytes="{:,}".format(summary["splits"]["heldout"]["bytes"]),
                            heldout="\n".join("- `%s`" % p for p in summary["heldout"]))
    with open(os.path.join(HERE, "CORPUS.md"), "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


CORPUS_MD = """# Training corpus

Generated by `training/build_corpus.py` (do not edit by hand). The corpus is built only from permissively
licensed text that a plain Debian 12 machine with the npm registry can reach: sources of pinned npm packages
(`training/corpus/package.json` + `package-lock.json`, installed with `npm ci --ignore-scripts`), the Python 3.11
standard library as packaged by Debian, and the reStructuredText sources of the Python 3.11 documentation
(Debian package `python3.11-doc`). Every npm package's `license` field is checked against an allow-list
(MIT, Apache-2.0, ISC, BSD-2-Clause, BSD-3-Clause, 0BSD, PSF-2.0); the build stops on anything else. Man pages
and the rest of `/usr/share/doc` (mixed, partly GPL licences) are not used.

- Documents: {docs}, {bytes} bytes of UTF-8 text (CRLF normalised to LF, leading BOM removed; files that are
  not UTF-8, contain NUL bytes or are larger than 768 KiB are skipped).
- sha256 of `training/data/corpus.jsonl`: `{sha}`
- Deterministic: within each group files are taken in the order of sha256("select:" + path) until the group's
  byte budget is reached (`@types/vscode/index.d.ts` first); the output is sorted by path.
- Held-out split: a file is held out when `int(sha256("heldout:" + path)[:8], 16) % 100 == 0`
  ({heldout_files} files, {heldout_bytes} bytes).

## Groups

| group | files | bytes |
|---|---|---|
{groups}

Files used per group: TypeScript = `typescript/lib/lib.*.d.ts`, all `.d.ts` of `@types/node`, `@types/vscode`
and `undici-types`, `rxjs/src/**/*.ts`, `zod/src/**/*.ts`; JavaScript = `.js` files of `lodash` (per-method
modules, not the `lodash.js`/`core.js` bundles or `fp/`) and of `express` and its dependencies (no `*.min.js`,
no `dist/`); Python = `.py` files of Debian's `libpython3.11-stdlib` and `libpython3.11-minimal` (without tests,
`pydoc_data`, generated `_sysconfigdata*` and Debian's `sitecustomize.py`); English = the documentation's
`.rst.txt` sources and the packages' `README.md` files.

## Sources and licences

| source | licence | files used | bytes used |
|---|---|---|---|
{rows}

Licence texts: each npm package ships its `LICENSE` file; the Python Software Foundation License Version 2 for
the standard library and documentation is in Debian's `/usr/share/doc/python3.11/copyright`.

## Held-out files

{heldout}
"""


if __name__ == "__main__":
    main()
