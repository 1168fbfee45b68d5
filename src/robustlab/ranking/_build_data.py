"""Build the bundled ranking collections (run once at build time, output shipped in resources/).

``python -m robustlab.ranking._build_data`` extracts the docstrings of a fixed list of Python
standard-library and NumPy functions and methods, sorted by qualified name, and writes them as
gzipped JSON lines, so the collections never depend on the installed Python or NumPy.
"""

from __future__ import annotations

import gzip
import importlib
import inspect
import json
import platform
import re
from pathlib import Path

STDLIB = [
    "base64",
    "bisect",
    "builtins",
    "calendar",
    "collections",
    "contextlib",
    "copy",
    "csv",
    "dataclasses",
    "datetime",
    "difflib",
    "fnmatch",
    "fractions",
    "functools",
    "getpass",
    "glob",
    "gzip",
    "hashlib",
    "heapq",
    "hmac",
    "html",
    "inspect",
    "io",
    "itertools",
    "json",
    "locale",
    "logging",
    "math",
    "operator",
    "os",
    "os.path",
    "pathlib",
    "pickle",
    "platform",
    "pprint",
    "queue",
    "random",
    "re",
    "secrets",
    "shlex",
    "shutil",
    "socket",
    "statistics",
    "string",
    "struct",
    "subprocess",
    "sys",
    "tarfile",
    "tempfile",
    "textwrap",
    "threading",
    "time",
    "traceback",
    "unicodedata",
    "urllib.parse",
    "urllib.request",
    "uuid",
    "warnings",
    "weakref",
    "zipfile",
    "zlib",
]
BUILTIN_TYPES = ("str", "bytes", "list", "dict", "set", "tuple", "int", "float")
NUMPY = ("numpy", "numpy.linalg", "numpy.random", "numpy.fft", "numpy.ma", "numpy.polynomial")
MIN_CHARS = 20
MAX_CHARS = 1500
OUT = Path(__file__).parent / "resources"


def _clean(doc: str) -> str:
    doc = inspect.cleandoc(doc)
    doc = re.sub(r"\n{3,}", "\n\n", doc)
    return doc[:MAX_CHARS].rsplit(" ", 1)[0] if len(doc) > MAX_CHARS else doc


def _public(names: list[str]) -> list[str]:
    return sorted(n for n in names if not n.startswith("_"))


def _home_ok(home: str, modname: str) -> bool:
    root = modname.split(".")[0]
    return home.startswith((root, "_", "posix", "genericpath", "builtins", "nt"))


def _members(modname: str, classes: bool = True) -> dict[str, tuple[int, str]]:
    mod = importlib.import_module(modname)
    out: dict[str, tuple[int, str]] = {}
    names = getattr(mod, "__all__", None) or dir(mod)
    for name in _public(list(names)):
        obj = getattr(mod, name, None)
        if obj is None or inspect.ismodule(obj):
            continue
        home = getattr(obj, "__module__", None) or ""
        if modname != "builtins" and not _home_ok(home, modname):
            continue
        if inspect.isclass(obj) and classes:
            for meth in _public(list(vars(obj))):
                attr = vars(obj)[meth]
                fn = getattr(attr, "__func__", attr)
                if callable(fn) and getattr(fn, "__doc__", None):
                    out[f"{modname}.{name}.{meth}"] = (id(fn), str(fn.__doc__))
        if (callable(obj) or inspect.isclass(obj)) and getattr(obj, "__doc__", None):
            out[f"{modname}.{name}"] = (id(obj), str(obj.__doc__))
    return out


def _docs(
    mods: tuple[str, ...] | list[str], extra: dict[str, tuple[int, str]] | None = None
) -> dict[str, str]:
    raw: dict[str, tuple[int, str]] = dict(extra or {})
    for m in mods:
        raw.update(_members(m))
    docs: dict[str, str] = {}
    seen: set[int] = set()
    for key in sorted(raw):
        ident, doc = raw[key]
        text = _clean(doc)
        if len(text) < MIN_CHARS or ident in seen:  # a re-exported object once
            continue
        seen.add(ident)
        short = key.removeprefix("builtins.")
        docs[short] = f"{short}\n{text}"
    return docs


def build() -> None:
    import builtins

    import numpy

    builtin_methods: dict[str, tuple[int, str]] = {}
    for t in BUILTIN_TYPES:
        cls = getattr(builtins, t)
        for meth in _public(list(vars(cls))):
            attr = vars(cls)[meth]
            doc = getattr(attr, "__doc__", None)
            if doc and callable(attr):
                builtin_methods[f"builtins.{t}.{meth}"] = (id(attr), str(doc))
    stdlib = _docs([m for m in STDLIB if m != "builtins"] + ["builtins"], builtin_methods)
    np_docs = _docs(list(NUMPY))
    meta = {
        "stdlib": f"Python {platform.python_version()} docstrings",
        "numpy": f"NumPy {numpy.__version__} docstrings",
    }
    OUT.mkdir(exist_ok=True)
    for name, docs in (("stdlib", stdlib), ("numpy", np_docs)):
        with gzip.GzipFile(OUT / f"{name}-docs.jsonl.gz", "wb", mtime=0) as fh:
            fh.write((json.dumps({"meta": meta[name], "count": len(docs)}) + "\n").encode())
            for doc_id, text in docs.items():
                fh.write((json.dumps({"id": doc_id, "text": text}) + "\n").encode())
        print(name, len(docs))


if __name__ == "__main__":
    build()
