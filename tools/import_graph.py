"""Print the package's module import graph and check the house rules (issue 19).

    python3 tools/import_graph.py            # the graph, then the checks; exit 1 on a violation
    python3 tools/import_graph.py --quiet    # the checks only

Checks: no import cycle between modules; no import from a lower part of the flow to a higher one
(:data:`LAYERS`, low to high); no module over 600 lines; no function over 80 lines. Imports under
``if TYPE_CHECKING:`` count like any other: a type is a dependency too.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "codemod"

#: the parts of the flow, low to high: a module may import its own part and the parts before it
LAYERS: tuple[tuple[str, ...], ...] = (
    ("=codemod", "codemod.source", "codemod.discover"),
    ("codemod.model",),
    ("codemod.dockerfile",),
    ("codemod.analysis",),
    ("codemod.config",),
    ("codemod.rules",),
    ("codemod.fix",),
    ("codemod.invocations",),
    ("codemod.handoff", "codemod.audit"),
    ("codemod.output",),
    ("codemod.write", "codemod.vcs", "codemod.verify"),
    ("codemod.app", "codemod.session", "codemod.commands"),
    ("codemod.cli", "codemod.entry", "codemod.__main__"),
)
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int:
    best, depth = -1, -1
    for i, prefixes in enumerate(LAYERS):
        for p in prefixes:
            if p.startswith("="):  # the package itself (its version), not everything under it
                if module == p[1:]:
                    return i
                continue
            if (module == p or module.startswith(p + ".")) and len(p) > depth:
                best, depth = i, len(p)
    return best


def imports_of(tree: ast.Module, module: str, is_package: bool) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("codemod"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = module.split(".") if is_package else module.split(".")[:-1]
                pkg = pkg[: len(pkg) - (node.level - 1)]
                base = ".".join(pkg + ([base] if base else []))
            if not base.startswith("codemod"):
                continue
            for a in node.names:
                full = f"{base}.{a.name}"
                out.add(full if (PACKAGE.parent / (full.replace(".", "/") + ".py")).exists()
                        or (PACKAGE.parent / full.replace(".", "/")).is_dir() else base)
    out.discard(module)
    return out


def load() -> tuple[dict[str, set[str]], dict[str, int], list[tuple[str, str, int]]]:
    graph: dict[str, set[str]] = {}
    sizes: dict[str, int] = {}
    long_functions: list[tuple[str, str, int]] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        graph[name] = imports_of(tree, name, path.name == "__init__.py")
        sizes[name] = len(text.splitlines())
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long_functions.append((name, node.name, n))
    return graph, sizes, long_functions


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def violations() -> list[str]:
    graph, sizes, long_functions = load()
    problems = [f"cycle: {' <-> '.join(c)}" for c in cycles(graph)]
    for mod, deps in sorted(graph.items()):
        lm = layer_of(mod)
        if lm < 0:
            problems.append(f"{mod}: in no layer of LAYERS")
            continue
        for d in sorted(deps):
            ld = layer_of(d)
            if ld > lm and not d.startswith(mod + "."):
                problems.append(f"upward import: {mod} (layer {lm}) imports {d} (layer {ld})")
    problems += [f"{m}: {n} lines (max {MAX_MODULE_LINES})" for m, n in sorted(sizes.items()) if n > MAX_MODULE_LINES]
    problems += [f"{m}.{f}: {n} lines (max {MAX_FUNCTION_LINES})" for m, f, n in long_functions]
    return problems


def main(argv: list[str]) -> int:
    graph, _, _ = load()
    if "--quiet" not in argv:
        for mod in sorted(graph):
            deps = ", ".join(sorted(graph[mod])) or "-"
            print(f"{mod} [{layer_of(mod)}] -> {deps}")
        print()
    problems = violations()
    for p in problems:
        print(p)
    print(f"{len(graph)} modules, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
