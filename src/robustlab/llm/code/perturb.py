"""ReCode's prompt perturbations for code generation: docstring paraphrase, variable renaming and
code formatting changes, each keeping the prompt valid Python with the same meaning.

Wang et al., "ReCode: Robustness Evaluation of Code Generation Models", ACL 2023. A prompt is
HumanEval-style: imports and helpers, then the function to complete (``entry_point``) with its
signature and docstring. The function's name is never changed (the tests call it). Docstring
paraphrases reuse RobustLab's text transformations (:mod:`robustlab.perturbations.text`) on the
prose of the docstring only: doctest examples and the names of parameters are kept as they are.
"""

from __future__ import annotations

import ast
import builtins
import io
import itertools
import keyword
import random
import re
import tokenize
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from robustlab import validation
from robustlab.errors import ConfigError, DataError
from robustlab.registry import Registry

__all__ = [
    "CODE_PERTURBATIONS",
    "CodePerturbation",
    "DocToComments",
    "DocstringParaphrase",
    "LineSplit",
    "NewlineInsertion",
    "PerturbedPrompt",
    "TabIndent",
    "VariableRenaming",
    "code_perturbation",
    "rename_variables",
]

CODE_PERTURBATIONS: Registry[type[CodePerturbation]] = Registry("code perturbation")


@dataclass(frozen=True)
class PerturbedPrompt:
    """A perturbed prompt: its text, whether it changed, and the renamings made (old -> new)."""

    prompt: str
    changed: bool
    renamed: Mapping[str, str]


def _parse(source: str, where: str) -> ast.Module:
    try:
        return ast.parse(source)
    except SyntaxError as exc:
        raise DataError(
            f"{where}: the prompt is not valid Python ({exc.msg}, line {exc.lineno}); a code "
            "prompt must parse on its own (a signature and a docstring at least)."
        ) from None


def _function(tree: ast.Module, entry_point: str, where: str) -> ast.FunctionDef:
    found = [
        n
        for n in ast.walk(tree)
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == entry_point
    ]
    if not found:
        names = [n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
        raise DataError(
            f"{where}: the prompt defines no function {entry_point!r} (it defines "
            f"{', '.join(names) or 'none'}); set entry_point to the function to complete."
        )
    return found[-1]  # type: ignore[return-value]


def _valid(prompt: str) -> bool:
    """Whether ``prompt`` parses, possibly once a body is added (the model writes it)."""
    for tail in ("", "    pass\n", "\tpass\n", "        pass\n"):
        try:
            ast.parse(prompt + ("\n" if not prompt.endswith("\n") else "") + tail)
            return True
        except SyntaxError:
            continue
    return False


def _docstring_node(fn: ast.FunctionDef) -> ast.Constant | None:
    if fn.body and isinstance(fn.body[0], ast.Expr):
        value = fn.body[0].value
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return value
    return None


def _offsets(source: str) -> list[int]:
    """Character offset of the start of each line (1-based line numbers index it)."""
    starts = [0, 0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


def _span(source: str, node: ast.AST) -> tuple[int, int]:
    # ast column offsets are in UTF-8 bytes; convert through each line's bytes
    lines = source.splitlines(keepends=True)
    starts = _offsets(source)

    def at(line: int, col: int) -> int:
        text = lines[line - 1].encode("utf-8")[:col].decode("utf-8", "replace")
        return starts[line] + len(text)

    n: Any = node
    return at(n.lineno, n.col_offset), at(n.end_lineno or n.lineno, n.end_col_offset or 0)


class CodePerturbation(ABC):
    """A meaning-preserving change of a code prompt.

    Class attributes:
        name: Registry name.
        family: ReCode's class: ``docstring``, ``function`` (renaming) or ``format``.
        description: One line for listings and the report.
    """

    name: ClassVar[str]
    family: ClassVar[str]
    description: ClassVar[str] = ""

    @abstractmethod
    def apply(self, prompt: str, entry_point: str, seed: int = 0) -> PerturbedPrompt:
        """The perturbed prompt (the same when nothing applies; ``changed`` says which)."""

    @property
    def label(self) -> str:
        return self.name


def code_perturbation(name: str, **params: Any) -> CodePerturbation:
    """A registered code perturbation by name, with its parameters."""
    return CODE_PERTURBATIONS.build(name, **params)


# -- docstring ---------------------------------------------------------------------------------


@CODE_PERTURBATIONS.register("docstring")
@dataclass(frozen=True)
class DocstringParaphrase(CodePerturbation):
    """The docstring's prose rewritten by a text transformation (typos, synonyms, casing, ...),
    doctest lines and parameter names left as they are."""

    transformation: str = "typo_keyboard"
    rate: float = 0.1
    name: ClassVar[str] = "docstring"
    family: ClassVar[str] = "docstring"
    description: ClassVar[str] = "docstring prose paraphrased by a text transformation"

    def __post_init__(self) -> None:
        from robustlab.perturbations import text as transformations

        transformations.TRANSFORMATIONS.get(self.transformation)  # refuse unknown names early
        validation.check_number(
            "code perturbation 'docstring'", "rate", self.rate, low_inclusive=True, high=1.0
        )

    @property
    def label(self) -> str:
        return f"docstring:{self.transformation}"

    def apply(self, prompt: str, entry_point: str, seed: int = 0) -> PerturbedPrompt:
        from robustlab.perturbations import text as transformations

        fn = _function(_parse(prompt, "docstring"), entry_point, "docstring")
        node = _docstring_node(fn)
        if node is None:
            return PerturbedPrompt(prompt, False, {})
        start, end = _span(prompt, node)
        literal = prompt[start:end]
        quote = next((q for q in ('"""', "'''") if literal.lstrip("rRuU").startswith(q)), None)
        if quote is None:
            return PerturbedPrompt(prompt, False, {})
        head = literal.index(quote) + 3
        inner = literal[head:-3]
        keep = {a.arg for a in [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs]}
        keep.add(entry_point)
        lines = inner.split("\n")
        prose = [
            i
            for i, line in enumerate(lines)
            if line.strip() and not _is_code_line(lines, i) and line.strip()[:1].isalpha()
        ]
        if not prose:
            return PerturbedPrompt(prompt, False, {})
        texts = [lines[i] for i in prose]
        out = transformations.apply(texts, self.transformation, self.rate, seed)
        changed = False
        for i, new in zip(prose, out):
            text = new.text
            if any(_count(text, w) != _count(lines[i], w) for w in keep):
                continue  # a parameter's name was touched: keep the line
            if quote in text or ("\\" in text and "\\" not in lines[i]):
                continue
            if text != lines[i]:
                lines[i], changed = text, True
        result = prompt[:start] + literal[:head] + "\n".join(lines) + quote + prompt[end:]
        if not changed or not _valid(result):
            return PerturbedPrompt(prompt, False, {})
        return PerturbedPrompt(result, True, {})


def _count(text: str, word: str) -> int:
    return len(re.findall(rf"(?<![\w]){re.escape(word)}(?![\w])", text))


def _is_code_line(lines: list[str], i: int) -> bool:
    """A doctest line (``>>> ...``) or its expected output (the lines after it up to a blank)."""
    for j in range(i, -1, -1):
        s = lines[j].strip()
        if s.startswith((">>>", "...")):
            return True
        if not s:
            return False
    return False


# -- variable renaming -------------------------------------------------------------------------


_POOL = (
    "value", "item", "items", "data", "arr", "seq", "num", "count", "text", "word", "elem",
    "result", "res", "acc", "tmp", "left", "right", "key", "idx", "pos", "cur", "prev", "val",
    "lst", "xs", "ys", "arg", "param", "inp", "obj",
)  # fmt: skip


def _local_names(fn: ast.FunctionDef) -> list[str]:
    """The function's parameters, then the names it binds (assignments, loops, comprehensions,
    with, except, nested defs' parameters), in order of first appearance; globals, nonlocals
    and imported names excluded."""
    declared: set[str] = set()
    imported: set[str] = set()
    for node in ast.walk(fn):
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            declared.update(node.names)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            imported.update((a.asname or a.name).split(".")[0] for a in node.names)
    order: list[str] = []

    def add(name: str) -> None:
        if name not in order and name not in declared and name not in imported:
            order.append(name)

    args = fn.args
    for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
        add(a.arg)
    for star in (args.vararg, args.kwarg):
        if star is not None:
            add(star.arg)
    for node in ast.walk(fn):
        if node is fn:
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            add(node.id)
        elif isinstance(node, ast.arg):
            add(node.arg)
        elif isinstance(node, ast.ExceptHandler):
            if node.name:
                add(node.name)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            add(node.name)
    return order


def rename_variables(
    source: str, entry_point: str, mapping: Mapping[str, str], *, docstring: bool = True
) -> str:
    """``source`` with the local names of function ``entry_point`` renamed by ``mapping``
    (every use inside the function, and whole-word mentions in its docstring); positions come
    from the syntax tree, so attributes, keywords of calls and strings are left alone."""
    tree = _parse(source, "rename_variables")
    fn = _function(tree, entry_point, "rename_variables")
    spans: list[tuple[int, int, str]] = []
    doc = _docstring_node(fn)
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and node.id in mapping:
            s, e = _span(source, node)
            spans.append((s, e, mapping[node.id]))
        elif isinstance(node, ast.arg) and node.arg in mapping:
            s, _ = _span(source, node)
            spans.append((s, s + len(node.arg), mapping[node.arg]))
        elif isinstance(node, ast.ExceptHandler) and node.name and node.name in mapping:
            s, e = _span(source, node)
            name = node.name
            m = re.compile(rf"\bas\s+({re.escape(name)})\b").search(source, s, e)
            if m:
                spans.append((m.start(1), m.end(1), mapping[name]))
        elif (
            isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node is not fn
            and node.name in mapping
        ):
            s, e = _span(source, node)
            m = re.compile(rf"\bdef\s+({re.escape(node.name)})\b").search(source, s, e)
            if m:
                spans.append((m.start(1), m.end(1), mapping[node.name]))
    if docstring and doc is not None:
        s, e = _span(source, doc)
        for old, new in mapping.items():
            for m in re.finditer(rf"(?<![\w.]){re.escape(old)}(?![\w])", source[s:e]):
                spans.append((s + m.start(), s + m.end(), new))
    spans = sorted(set(spans))
    for (_, e1, _), (s2, _, _) in itertools.pairwise(spans):
        if s2 < e1:
            raise DataError("rename_variables: overlapping names; this is a bug, please report it.")
    out = source
    for s, e, new in reversed(spans):
        out = out[:s] + new + out[e:]
    return out


@CODE_PERTURBATIONS.register("rename")
@dataclass(frozen=True)
class VariableRenaming(CodePerturbation):
    """The function's parameters and local variables renamed consistently (``style``:
    ``natural``: other plausible names, drawn by seed; ``naive``: ``var_0``, ``var_1``, ...)."""

    rate: float = 1.0
    style: str = "natural"
    name: ClassVar[str] = "rename"
    family: ClassVar[str] = "function"
    description: ClassVar[str] = "parameters and local variables renamed consistently"

    def __post_init__(self) -> None:
        owner = "code perturbation 'rename'"
        validation.check_number(owner, "rate", self.rate, high=1.0)
        validation.check_choice(owner, "style", self.style, ("natural", "naive"))

    @property
    def label(self) -> str:
        return f"rename:{self.style}"

    def apply(self, prompt: str, entry_point: str, seed: int = 0) -> PerturbedPrompt:
        tree = _parse(prompt, "rename")
        fn = _function(tree, entry_point, "rename")
        names = _local_names(fn)
        if not names:
            return PerturbedPrompt(prompt, False, {})
        rng = random.Random(f"rename/{seed}")
        count = max(1, round(self.rate * len(names)))
        chosen = sorted(rng.sample(range(len(names)), count))
        taken = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | set(names)
        taken |= {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        taken |= set(dir(builtins)) | set(keyword.kwlist)
        pool = [p for p in _POOL if p not in taken]
        rng.shuffle(pool)
        mapping: dict[str, str] = {}
        for i in chosen:
            if self.style == "naive" or not pool:
                k = len(mapping)
                while f"var_{k}" in taken:
                    k += 1
                new = f"var_{k}"
            else:
                new = pool.pop()
            taken.add(new)
            mapping[names[i]] = new
        result = rename_variables(prompt, entry_point, mapping)
        if not _valid(result):
            return PerturbedPrompt(prompt, False, {})
        return PerturbedPrompt(result, result != prompt, mapping)


# -- formatting --------------------------------------------------------------------------------


def _logical_line_ends(source: str) -> list[int]:
    """Offsets just after each NEWLINE token (the end of a logical line, outside brackets and
    strings)."""
    starts = _offsets(source)
    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.NEWLINE and tok.string:
                out.append(starts[tok.end[0]] + tok.end[1])
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return out


@CODE_PERTURBATIONS.register("newline_insertion")
@dataclass(frozen=True)
class NewlineInsertion(CodePerturbation):
    """Empty lines inserted after logical lines, each with probability ``rate`` (at least one)."""

    rate: float = 0.5
    name: ClassVar[str] = "newline_insertion"
    family: ClassVar[str] = "format"
    description: ClassVar[str] = "empty lines inserted between statements"

    def __post_init__(self) -> None:
        validation.check_number(
            "code perturbation 'newline_insertion'", "rate", self.rate, high=1.0
        )

    def apply(self, prompt: str, entry_point: str, seed: int = 0) -> PerturbedPrompt:
        ends = [e for e in _logical_line_ends(prompt) if e < len(prompt) or prompt.endswith("\n")]
        if not ends:
            return PerturbedPrompt(prompt, False, {})
        rng = random.Random(f"newline/{seed}")
        chosen = [e for e in ends if rng.random() < self.rate] or [rng.choice(ends)]
        out = prompt
        for e in sorted(chosen, reverse=True):
            out = out[:e] + "\n" + out[e:]
        return PerturbedPrompt(out, True, {}) if _valid(out) else PerturbedPrompt(prompt, False, {})


@CODE_PERTURBATIONS.register("tab_indent")
@dataclass(frozen=True)
class TabIndent(CodePerturbation):
    """Indentation of ``width`` spaces replaced by tabs throughout (string contents untouched)."""

    width: int = 4
    name: ClassVar[str] = "tab_indent"
    family: ClassVar[str] = "format"
    description: ClassVar[str] = "indentation by tabs instead of spaces"

    def __post_init__(self) -> None:
        validation.check_int("code perturbation 'tab_indent'", "width", self.width)

    def apply(self, prompt: str, entry_point: str, seed: int = 0) -> PerturbedPrompt:
        fn = _function(_parse(prompt, "tab_indent"), entry_point, "tab_indent")
        doc = _docstring_node(fn)
        doc_lines = set() if doc is None else set(range(doc.lineno, (doc.end_lineno or 0) + 1))
        # lines inside a string keep their white space (it is the string's value), except the
        # docstring's, whose re-indentation changes only the docstring, as in ReCode
        frozen = _string_lines(prompt) - doc_lines
        lines = prompt.split("\n")
        for i, line in enumerate(lines):
            if i + 1 in frozen:
                continue
            stripped = line.lstrip(" ")
            depth, rest = divmod(len(line) - len(stripped), self.width)
            if depth:
                lines[i] = "\t" * depth + " " * rest + stripped
        out = "\n".join(lines)
        if out == prompt or not _valid(out):
            return PerturbedPrompt(prompt, False, {})
        return PerturbedPrompt(out, True, {})


def _string_lines(source: str) -> set[int]:
    """Line numbers (1-based) that start inside a multi-line string."""
    out: set[int] = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.STRING and tok.end[0] > tok.start[0]:
                out.update(range(tok.start[0] + 1, tok.end[0] + 1))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return out


@CODE_PERTURBATIONS.register("doc_to_comments")
@dataclass(frozen=True)
class DocToComments(CodePerturbation):
    """The function's docstring turned into ``#`` comment lines at the same indentation."""

    name: ClassVar[str] = "doc_to_comments"
    family: ClassVar[str] = "format"
    description: ClassVar[str] = "docstring written as comments"

    def apply(self, prompt: str, entry_point: str, seed: int = 0) -> PerturbedPrompt:
        fn = _function(_parse(prompt, "doc_to_comments"), entry_point, "doc_to_comments")
        node = _docstring_node(fn)
        if node is None or not isinstance(node.value, str):
            return PerturbedPrompt(prompt, False, {})
        start, end = _span(prompt, node)
        line_start = prompt.rfind("\n", 0, start) + 1
        indent = prompt[line_start:start]
        if indent.strip():
            return PerturbedPrompt(prompt, False, {})
        text_lines = [ln.strip() for ln in node.value.strip("\n").split("\n")]
        while text_lines and not text_lines[-1]:
            text_lines.pop()
        comments = "\n".join(f"{indent}# {ln}".rstrip() for ln in text_lines)
        out = prompt[:line_start] + comments + prompt[end:]
        if not _valid(out):
            return PerturbedPrompt(prompt, False, {})
        return PerturbedPrompt(out, True, {})


@CODE_PERTURBATIONS.register("line_split")
@dataclass(frozen=True)
class LineSplit(CodePerturbation):
    """The signature's parameters written one per line inside its parentheses."""

    name: ClassVar[str] = "line_split"
    family: ClassVar[str] = "format"
    description: ClassVar[str] = "function signature split over several lines"

    def apply(self, prompt: str, entry_point: str, seed: int = 0) -> PerturbedPrompt:
        fn = _function(_parse(prompt, "line_split"), entry_point, "line_split")
        params = [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs]
        if len(params) < 1:
            return PerturbedPrompt(prompt, False, {})
        start, _ = _span(prompt, fn)
        m = re.compile(rf"def\s+{re.escape(entry_point)}\s*\(").search(prompt, start)
        if m is None:
            return PerturbedPrompt(prompt, False, {})
        open_at = m.end()
        depth, i = 1, open_at
        while i < len(prompt) and depth:
            depth += {"(": 1, ")": -1}.get(prompt[i], 0)
            i += 1
        close_at = i - 1
        inner = prompt[open_at:close_at]
        if "\n" in inner or "#" in inner or "'" in inner or '"' in inner:
            return PerturbedPrompt(prompt, False, {})
        parts = _split_top(inner)
        line_start = prompt.rfind("\n", 0, m.start()) + 1
        indent = prompt[line_start : m.start()]
        body = ",\n".join(f"{indent}    {p.strip()}" for p in parts if p.strip())
        out = prompt[:open_at] + "\n" + body + ",\n" + indent + prompt[close_at:]
        if any(p.strip() in ("*", "/") for p in parts[-1:]):
            out = prompt[:open_at] + "\n" + body + "\n" + indent + prompt[close_at:]
        if not _valid(out):
            return PerturbedPrompt(prompt, False, {})
        return PerturbedPrompt(out, True, {})


def _split_top(text: str) -> list[str]:
    """``text`` split at the commas outside brackets."""
    out, depth, cur = [], 0, ""
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out


def check_perturbation(value: object) -> CodePerturbation:
    """A code perturbation from an instance, a name, or ``{"name": ..., **params}``."""
    if isinstance(value, CodePerturbation):
        return value
    if isinstance(value, str):
        return code_perturbation(value)
    if isinstance(value, Mapping) and isinstance(value.get("name"), str):
        params = {k: v for k, v in value.items() if k != "name"}
        return code_perturbation(value["name"], **params)
    raise ConfigError(
        f"A code perturbation must be a name ({', '.join(CODE_PERTURBATIONS.names())}) or a "
        f"mapping with 'name'. Got {value!r} instead."
    )
