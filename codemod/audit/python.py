"""Python code that reads environment variables (design.md sections 2 and 4).

An app that does ``os.getenv("SECRET_KEY", "<a real key>")`` ships its secret in
the image however well the Dockerfile is migrated: the default is in the source
that ``COPY . .`` puts there. This module finds the reads of a build context's
Python files with libcst (aliases resolved by scope: ``import os as o``,
``from os import getenv, environ``, a local ``os`` that is not the module is not
a read), reports secret-named variables read with a literal secret default
(``python-env-secret-default``), and, with ``--fix-python``, makes those reads
required (``os.environ["SECRET_KEY"]``) with every other byte of the module kept.

Values never appear in messages; :func:`python_findings` hands them back
separately for redaction.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codemod.analysis.names import NameClass, classify_name
from codemod.analysis.values import ValueKind, is_secret_value, known_format
from codemod.dockerfile.dockerignore import dockerignore_matcher
from codemod.model import Finding
from codemod.rules import RULE_CODES

if TYPE_CHECKING:
    import libcst as cst

    from codemod.config import Config

__all__ = [
    "EnvRead",
    "PythonSyntaxError",
    "app_reads",
    "context_python_files",
    "dockerignore_matcher",
    "env_reads",
    "python_findings",
]

KIND = "python-env-secret-default"

#: Canonical spellings of the reads (:attr:`EnvRead.call`), by qualified name of the callee.
GETENV = "os.getenv"
ENVIRON_GET = "os.environ.get"
ENVIRON_SETDEFAULT = "os.environ.setdefault"
ENVIRON_SUBSCRIPT = "os.environ[]"
_CALLS = (GETENV, ENVIRON_GET, ENVIRON_SETDEFAULT)

# Folders never part of an app's own code (walked only outside a git work tree).
_SKIP_DIRS = frozenset(
    {".git", ".hg", ".svn", "node_modules", "venv", ".venv", "env", "__pycache__", ".tox", ".nox",
     ".mypy_cache", ".pytest_cache", ".ruff_cache", "site-packages"}
)  # fmt: skip


class PythonSyntaxError(Exception):
    """A Python file libcst cannot parse; ``str()`` is ``path:line: reason``."""

    def __init__(self, path: str, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason


@dataclass(frozen=True)
class EnvRead:
    """One read of an environment variable by name.

    ``line``/``column`` (1-based) are those of the variable name string.
    ``default`` is the value of a literal default (string, number, bool), the
    source text of any other default expression (``default_is_literal`` False),
    and None when there is no default or the default is the literal ``None``
    (then ``default_is_literal`` is True). ``call`` is the canonical callee:
    ``os.getenv``, ``os.environ.get``, ``os.environ.setdefault`` or
    ``os.environ[]``, whatever alias the module spells it with.
    """

    path: str
    line: int
    column: int
    variable: str
    default: str | None
    default_is_literal: bool
    call: str


@dataclass
class _Read:
    read: EnvRead
    node: Any  # cst.Call | cst.Subscript
    key: Any  # cst.BaseExpression: the variable name string, as written
    default_node: Any  # cst.BaseExpression | None


# --- parsing and collecting reads ---


def _parse(path: str, source: bytes) -> cst.Module:
    import libcst as cst

    try:
        return cst.parse_module(source)
    except cst.ParserSyntaxError as e:
        # CPython's own message and line are the ones users know; libcst's when CPython accepts it.
        try:
            compile(source, path, "exec", dont_inherit=True)
        except SyntaxError as py:
            raise PythonSyntaxError(path, py.lineno or 1, f"Python syntax error: {py.msg}") from None
        except ValueError:
            pass
        reason = e.message.removeprefix("parser error: ")
        reason = re.sub(r"^error at \d+:\d+: ", "", reason)
        raise PythonSyntaxError(path, e.raw_line, f"Python syntax error: {reason}") from None
    except (SyntaxError, UnicodeDecodeError, LookupError) as e:  # encoding cookie / undecodable bytes
        line = getattr(e, "lineno", None) or 1
        raise PythonSyntaxError(path, line, f"cannot decode Python source: {e}") from None


def _string_value(node: Any) -> tuple[str | None, bool]:
    """(value, is_str) of a string literal node; value None when it is not a plain literal."""
    import libcst as cst

    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        try:
            value = node.evaluated_value
        except Exception:  # noqa: BLE001 - libcst's literal_eval on odd escapes
            return None, False
        if isinstance(value, str):
            return value, True
        if isinstance(value, bytes):
            return value.decode("utf-8", "surrogateescape"), False
        return None, False
    if isinstance(node, cst.FormattedString) and all(
        isinstance(p, cst.FormattedStringText) for p in node.parts
    ):
        # f"abc" without placeholders is a literal; braces are doubled in the source.
        text = "".join(p.value for p in node.parts if isinstance(p, cst.FormattedStringText))
        if "\\" in text:
            return None, False
        return text.replace("{{", "{").replace("}}", "}"), True
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add) and not node.lpar:
        # "abc" + "def": constant folded by Python, a literal all the same
        left, left_str = _string_value(node.left)
        right, right_str = _string_value(node.right)
        if left is not None and right is not None and left_str == right_str:
            return left + right, left_str
    return None, False


def _literal_default(node: Any, code: str) -> tuple[str | None, bool]:
    """(default, is_literal) for a default expression (bytes are decoded, numbers spelled as str)."""
    import ast

    import libcst as cst

    value, _ = _string_value(node)
    if value is not None:
        return value, True
    if isinstance(node, cst.Name) and node.value in ("None", "True", "False"):
        return (None if node.value == "None" else node.value), True
    if isinstance(node, (cst.Integer, cst.Float)) or (
        isinstance(node, cst.UnaryOperation)
        and isinstance(node.operator, (cst.Minus, cst.Plus))
        and isinstance(node.expression, (cst.Integer, cst.Float))
    ):
        try:
            return str(ast.literal_eval(code)), True
        except (ValueError, SyntaxError):
            pass
    return code, False


def _call_args(call: Any) -> tuple[Any, Any] | None:
    """(key node, default node or None) of ``getenv(key, default=None)``-like calls."""
    key = default = None
    positional = 0
    for arg in call.args:
        if arg.star:
            return None
        if arg.keyword is None:
            if positional == 0:
                key = arg.value
            elif positional == 1:
                default = arg.value
            else:
                return None
            positional += 1
        elif arg.keyword.value == "key" and key is None:
            key = arg.value
        elif arg.keyword.value == "default" and default is None:
            default = arg.value
        else:
            return None
    if key is None:
        return None
    return key, default


def _collect(path: str, module: cst.Module) -> tuple[Any, list[_Read], list[tuple[str, str, int]]]:
    """The metadata wrapper, the reads, and the import bindings ``(name, "os"|"os.environ", line)``."""
    import libcst as cst
    from libcst.metadata import (
        ExpressionContext,
        ExpressionContextProvider,
        MetadataWrapper,
        PositionProvider,
        QualifiedNameProvider,
    )

    wrapper = MetadataWrapper(module)
    reads: list[_Read] = []
    bindings: list[tuple[str, str, int]] = []
    code_for = wrapper.module.code_for_node

    class Visitor(cst.CSTVisitor):
        METADATA_DEPENDENCIES = (QualifiedNameProvider, PositionProvider, ExpressionContextProvider)

        def _qnames(self, node: cst.CSTNode) -> set[str]:
            return {q.name for q in self.get_metadata(QualifiedNameProvider, node, set())}

        def _add(self, node: cst.CSTNode, call: str, key: Any, default: Any) -> None:
            variable, is_str = _string_value(key)
            if variable is None or not is_str or not variable:
                return  # os.getenv(name): not a read we can name
            if default is None:
                value, literal = None, False
            else:
                value, literal = _literal_default(default, code_for(default))
            pos = self.get_metadata(PositionProvider, key)
            read = EnvRead(path, pos.start.line, pos.start.column + 1, variable, value, literal, call)
            reads.append(_Read(read, node, key, default))

        def visit_Call(self, node: cst.Call) -> None:
            names = self._qnames(node.func)
            call = next((c for c in _CALLS if c in names), None)
            if call is None:
                return
            parsed = _call_args(node)
            if parsed is not None:
                self._add(node, call, parsed[0], parsed[1])

        def visit_Subscript(self, node: cst.Subscript) -> None:
            if ENVIRON_SUBSCRIPT[:-2] not in self._qnames(node.value):
                return
            if self.get_metadata(ExpressionContextProvider, node, None) is not ExpressionContext.LOAD:
                return  # os.environ["X"] = ... and del os.environ["X"] are writes
            if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
                return
            self._add(node, ENVIRON_SUBSCRIPT, node.slice[0].slice.value, None)

        def visit_Import(self, node: cst.Import) -> None:
            line = self.get_metadata(PositionProvider, node).start.line
            for alias in node.names:
                full = code_for(alias.name)
                if alias.asname is not None:
                    if full == "os":
                        bindings.append((code_for(alias.asname.name), "os", line))
                elif full == "os" or full.startswith("os."):
                    bindings.append(("os", "os", line))  # import os.path binds os

        def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
            if node.relative or node.module is None or code_for(node.module) != "os":
                return
            if isinstance(node.names, cst.ImportStar):
                return
            line = self.get_metadata(PositionProvider, node).start.line
            for alias in node.names:
                if code_for(alias.name) == "environ":
                    bound = code_for(alias.asname.name) if alias.asname is not None else "environ"
                    bindings.append((bound, "os.environ", line))

    wrapper.visit(Visitor())
    reads.sort(key=lambda r: (r.read.line, r.read.column))
    return wrapper, reads, bindings


def env_reads(path: str, source: bytes) -> list[EnvRead]:
    """Every read of an environment variable named by a string literal, in source order.

    Raises :class:`PythonSyntaxError` (``path:line: reason``) when the module does not parse.
    """
    module = _parse(path, source)
    return [r.read for r in _collect(path, module)[1]]


# --- findings and the fix ---


def _contains_comment(node: Any) -> bool:
    import libcst as cst

    class Finder(cst.CSTVisitor):
        found = False

        def visit_Comment(self, node: cst.Comment) -> None:
            self.found = True

    finder = Finder()
    node.visit(finder)
    return finder.found


def _environ_for(r: _Read, wrapper: Any, bindings: list[tuple[str, str, int]]) -> Any | None:
    """The expression standing for ``os.environ`` at this read, in the module's own spelling."""
    import libcst as cst
    from libcst.metadata import ScopeProvider

    func = r.node.func
    if r.read.call in (ENVIRON_GET, ENVIRON_SETDEFAULT) and isinstance(func, cst.Attribute):
        return func.value  # o.environ.get -> o.environ; env.get -> env
    if r.read.call == GETENV and isinstance(func, cst.Attribute):
        return cst.Attribute(value=func.value, attr=cst.Name("environ"))  # o.getenv -> o.environ
    # getenv imported by name: reuse an `environ` or `os` binding visible here, else nothing.
    scope = wrapper.resolve(ScopeProvider).get(r.node)
    if scope is None:
        return None
    usable: dict[str, str] = {}
    for name, target, line in bindings:
        if line > r.read.line or name in usable:
            continue
        qnames = {q.name for q in scope.get_qualified_names_for(name)}
        if qnames == {target}:
            usable[name] = target
    for target in ("os.environ", "os"):
        for name, t in usable.items():
            if t == target:
                return cst.Name(name) if target == "os.environ" else cst.Attribute(cst.Name(name), cst.Name("environ"))
    return None


def _required(r: _Read, environ: Any) -> Any:
    import libcst as cst

    return cst.Subscript(
        value=environ,
        slice=[cst.SubscriptElement(slice=cst.Index(value=r.key))],
        lpar=r.node.lpar,
        rpar=r.node.rpar,
    )


def _compiles(data: bytes, path: str) -> bool:
    try:
        compile(data, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def python_findings(
    path: str,
    source: bytes,
    *,
    fix: bool,
    config: Config | None = None,
) -> tuple[list[Finding], bytes | None, dict[str, str]]:
    """``python-env-secret-default`` findings of one module.

    Returns (findings, new source or None, {variable: secret value} for
    redaction). The new source is produced only with ``fix`` (``--fix-python``)
    and only when a read can be made required in the module's own spelling
    (``os.environ["X"]``, ``o.environ["X"]``, ``environ["X"]``); a read with no
    ``os`` or ``environ`` import in scope, or with comments inside the call, is
    reported with the suggested change and not rewritten (display-only).
    Findings are ``fixable`` only when this call writes the fix (``fix=True``).
    Raises :class:`PythonSyntaxError` when the module does not parse.
    """
    classify = _classifier(config)
    module = _parse(path, source)
    wrapper, reads, bindings = _collect(path, module)
    findings: list[Finding] = []
    values: dict[str, str] = {}
    replace: dict[Any, Any] = {}
    for r in reads:
        read = r.read
        if not read.default_is_literal or read.default is None or r.default_node is None:
            continue
        nc = classify(read.variable)
        secret, kind = is_secret_value(nc, read.default)
        if not secret or kind is ValueKind.REFERENCE:
            continue
        fmt = known_format(read.default)
        if not nc.secret and fmt is None:
            continue
        values.setdefault(read.variable, read.default)
        replacement = None
        if (environ := _environ_for(r, wrapper, bindings)) is None:
            why = "no os or environ import is in scope here: edit it by hand"
        elif _contains_comment(r.node):
            why = "comments inside the call: edit it by hand"
        else:
            replacement = _required(r, environ)
        if replacement is not None:
            shown = _code(wrapper.module, replacement.with_changes(lpar=(), rpar=()))
            if fix:
                replace[r.node] = replacement
                hint = f"make it required: {shown}; supply it at runtime"
            else:
                hint = f"make it required: {shown} (written with --fix-python); supply it at runtime"
        else:
            hint = f'make it required (os.environ["{read.variable}"]); {why}'
        what = f"a {fmt} value" if fmt else f"a {kind.value} value"
        message = f"{read.variable} is read with a hard-coded secret default ({what}) that ships with the code"
        if kind is ValueKind.REAL:
            message += "; rotate this credential"
        findings.append(
            Finding(
                path=path,
                line=read.line,
                column=read.column,
                variable=read.variable,
                kind=KIND,
                code=RULE_CODES[KIND],
                message=message,
                fixable=fix and replacement is not None,
                value_class=kind.value,
                fix=hint,
            )
        )
    new: bytes | None = None
    if replace:
        new = _rewrite(wrapper.module, replace)
        if new == source:
            new = None
        elif new is not None and _compiles(source, path) and not _compiles(new, path):
            new = None  # never hand back a module that no longer compiles
        if new is None:
            findings = [
                dataclasses.replace(f, fixable=False, fix=f.fix + " (automatic rewrite refused)") if f.fixable else f
                for f in findings
            ]
    return findings, new, values


def _code(module: cst.Module, node: Any) -> str:
    return str(module.code_for_node(node))


def _rewrite(module: cst.Module, replace: dict[Any, Any]) -> bytes | None:
    import libcst as cst

    class Transformer(cst.CSTTransformer):
        def on_leave(self, original_node: Any, updated_node: Any) -> Any:
            return replace.get(original_node, updated_node)

    try:
        new_module = module.visit(Transformer())
        out = new_module.bytes
        cst.parse_module(out)  # what we hand back must parse
    except Exception:  # noqa: BLE001 - a failed rewrite leaves the module as it was
        return None
    return bytes(out)


def _classifier(config: Config | None) -> Callable[[str], NameClass]:
    return config.classify if config is not None else classify_name


# --- which Python files are in a build context ---


def _git_listing(context_dir: Path) -> list[str] | None:
    try:
        inside = subprocess.run(
            ["git", "rev-parse", "--is-inside-work-tree"],
            cwd=context_dir, capture_output=True, timeout=60,
        )
        if inside.returncode != 0 or inside.stdout.strip() != b"true":
            return None
        out = subprocess.run(
            ["git", "ls-files", "-z", "-co", "--exclude-standard", "--", "."],
            cwd=context_dir, capture_output=True, check=True, timeout=120,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return sorted({os.fsdecode(p) for p in out.split(b"\0") if p})


def _walk(context_dir: Path) -> Iterable[str]:
    for dirpath, dirnames, filenames in os.walk(context_dir):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        rel = Path(dirpath).relative_to(context_dir)
        for f in sorted(filenames):
            yield (rel / f).as_posix()


def context_python_files(context_dir: Path) -> list[Path]:
    """The ``.py`` files of a build context that reach the image, sorted.

    Inside a git work tree: tracked and untracked-not-ignored files (``git
    ls-files -co --exclude-standard``); else a walk that skips VCS, virtualenv
    and dependency folders. Files the context's ``.dockerignore`` excludes are
    not in the image and are left out.
    """
    context_dir = Path(context_dir)
    listing = _git_listing(context_dir)
    rels = listing if listing is not None else list(_walk(context_dir))
    ignore = context_dir / ".dockerignore"
    excluded = dockerignore_matcher(ignore.read_text(encoding="utf-8", errors="replace") if ignore.is_file() else "")
    out: list[Path] = []
    for rel in rels:
        if not rel.endswith(".py") or excluded(rel):
            continue
        p = context_dir / rel
        if p.is_file():
            out.append(p)
    return sorted(out)


def app_reads(context_dir: Path) -> set[str]:
    """Variables the app in a build context reads (files that do not parse are skipped)."""
    names: set[str] = set()
    for p in context_python_files(context_dir):
        try:
            names.update(r.variable for r in env_reads(str(p), p.read_bytes()))
        except (OSError, PythonSyntaxError):
            continue
    return names
