"""Python env reads (codemod.audit.python): golden modules, the --fix-python rewrite, build-context files.

Golden cases live in ``fixtures/pyenv/<case>/``: ``input.py``, ``expected.py``
(what ``--fix-python`` writes) and ``findings.txt``. Regenerate them after a
deliberate change with ``python tests/test_pyenv.py --update`` and review the diff.
"""

from __future__ import annotations

import importlib.util
import os
import random
import re
import string
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from codemod.audit.python import (
    EnvRead,
    PythonSyntaxError,
    app_reads,
    context_python_files,
    dockerignore_matcher,
    env_reads,
    python_findings,
)
from codemod.config import Config
from codemod.rules import RULE_CODES

PYENV = Path(__file__).resolve().parents[1] / "fixtures" / "pyenv"
CASES = sorted(p for p in PYENV.iterdir() if (p / "input.py").is_file())

# Fake tokens are assembled at runtime so no secret scanner flags this file.
_RNG = random.Random(8008)


def rnd(n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(_RNG.choice(alphabet) for _ in range(n))


def findings_text(data: bytes) -> str:
    findings, _, _ = python_findings("input.py", data, fix=True)
    out = []
    for f in findings:
        tag = "" if f.fixable else " [needs a human]"
        out.append(f"{f.line}:{f.column} {f.rule} {f.kind} {f.variable}: {f.message}{tag}\n")
    return "".join(out)


def fixed_bytes(data: bytes) -> bytes:
    _, new, _ = python_findings("input.py", data, fix=True)
    return data if new is None else new


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=cwd, check=True, capture_output=True, text=True,
    ).stdout


# --- golden modules ---


def test_fixture_cases_exist() -> None:
    assert {c.name for c in CASES} >= {"django_settings", "service_config", "getenv_only", "windows_crlf",
                                        "no_findings"}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_findings_and_fix(case: Path) -> None:
    data = (case / "input.py").read_bytes()
    assert findings_text(data) == (case / "findings.txt").read_text(encoding="utf-8")
    assert fixed_bytes(data) == (case / "expected.py").read_bytes()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_without_fix_python_nothing_is_written(case: Path) -> None:
    data = (case / "input.py").read_bytes()
    findings, new, _ = python_findings("input.py", data, fix=False)
    fixed, _, _ = python_findings("input.py", data, fix=True)
    assert new is None
    assert not any(f.fixable for f in findings)
    assert [(f.line, f.column, f.variable) for f in findings] == [(f.line, f.column, f.variable) for f in fixed]
    for f, g in zip(findings, fixed, strict=True):
        if g.fixable:
            assert "--fix-python" in f.fix


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_idempotent(case: Path) -> None:
    expected = (case / "expected.py").read_bytes()
    findings, new, _ = python_findings("input.py", expected, fix=True)
    assert new is None
    assert not any(f.fixable for f in findings)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_values_never_in_messages(case: Path) -> None:
    data = (case / "input.py").read_bytes()
    findings, _, values = python_findings("input.py", data, fix=True)
    assert set(values) == {f.variable for f in findings}
    for f in findings:
        assert f.kind == "python-env-secret-default" and f.rule == RULE_CODES[f.kind] == "MS008"
        for value in values.values():
            assert value not in f.message and value not in f.fix


def _call_spans(data: bytes, lines_cols: set[tuple[int, int]]) -> list[tuple[int, int]]:
    """Character spans (in the decoded text) of the reads whose variable string sits at ``lines_cols``."""
    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider

    module = cst.parse_module(data)
    wrapper = MetadataWrapper(module)
    positions = wrapper.resolve(PositionProvider)
    text = data.decode(module.encoding)
    if text.startswith("\ufeff"):
        text = text[1:]
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    spans = []
    for node, rng in positions.items():
        if not isinstance(node, cst.Call) or not node.args:
            continue
        key = positions[node.args[0].value].start
        if (key.line, key.column + 1) in lines_cols:
            spans.append((starts[rng.start.line - 1] + rng.start.column, starts[rng.end.line - 1] + rng.end.column))
    return sorted(spans)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fix_changes_only_the_calls(case: Path) -> None:
    data = (case / "input.py").read_bytes()
    findings, new, _ = python_findings("input.py", data, fix=True)
    fixed = {(f.line, f.column) for f in findings if f.fixable}
    if not fixed:
        assert new is None
        return
    assert new is not None
    spans = _call_spans(data, fixed)
    assert len(spans) == len(fixed)
    text = data.decode("utf-8")
    # every byte outside the calls is kept; each call became NAME[...] on one line
    pattern, pos = "", 0
    for start, end in spans:
        pattern += re.escape(text[pos:start]) + r"[A-Za-z_][\w.]*\[(?:\"\w+\"|'\w+')\]"
        pos = end
    pattern += re.escape(text[pos:])
    assert re.fullmatch(pattern, new.decode("utf-8"), re.S)


def _import(path: Path) -> object:
    name = f"pyenv_fixture_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return module


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fixed_module_compiles_and_imports(case: Path, tmp_path: Path) -> None:
    data = (case / "input.py").read_bytes()
    findings, new, _ = python_findings("input.py", data, fix=True)
    out = data if new is None else new
    compile(out, "expected.py", "exec", dont_inherit=True)
    target = tmp_path / "settings_under_test.py"
    target.write_bytes(out)
    reads = env_reads(str(target), out)
    # the variables read without a default are the ones the deployment must now supply
    supplied = {r.variable for r in reads if r.default is None and not r.default_is_literal}
    saved = dict(os.environ)
    try:
        os.environ.update({name: "set-by-the-test" for name in supplied})
        module = _import(target)
        required = [f.variable for f in findings if f.fixable]
        assert set(required) <= supplied
        # the rewritten reads are required now: the module fails without them
        for name in required:
            os.environ.pop(name)
            with pytest.raises(KeyError, match=name):
                _import(target)
            os.environ[name] = "set-by-the-test"
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert module is not None


# --- env_reads ---

ALIASES = b'''\
import os as o
import os.path
from os import getenv as ge, environ
import environ as django_environ  # django-environ, not os.environ


def settings(os=None):
    a = o.getenv("A_TOKEN", "v1")
    b = ge(key="B_PASSWORD", default=OTHER)
    c = environ.get(
        "C_SECRET",
        None,
    )
    d = environ["D_KEY"]
    environ["E_WRITTEN"] = "x"
    del environ["F_DELETED"]
    g = o.environ.setdefault("G_SALT", 42)
    h = os.getenv("H_SHADOWED", "x")  # a parameter named os
    i = django_environ.get("I_NOT_OS", "x")
    j = ge(NAME, "x")
    k = ge(*ARGS)
    m = ge("M_PIN", -1234)
    n = environ.get("N_" "CONCAT", "ab" "cd")
    p = ge("P_FSTR", f"{a}-{b}")
    q = ge("Q_PLUS", "ab" + "cd")
    return a, b, c, d, g, h, i, j, k, m, n, p, q
'''


def test_env_reads_resolve_aliases() -> None:
    reads = env_reads("app/settings.py", ALIASES)
    assert reads == [
        EnvRead("app/settings.py", 8, 18, "A_TOKEN", "v1", True, "os.getenv"),
        EnvRead("app/settings.py", 9, 16, "B_PASSWORD", "OTHER", False, "os.getenv"),
        EnvRead("app/settings.py", 11, 9, "C_SECRET", None, True, "os.environ.get"),
        EnvRead("app/settings.py", 14, 17, "D_KEY", None, False, "os.environ[]"),
        EnvRead("app/settings.py", 17, 30, "G_SALT", "42", True, "os.environ.setdefault"),
        EnvRead("app/settings.py", 22, 12, "M_PIN", "-1234", True, "os.getenv"),
        EnvRead("app/settings.py", 23, 21, "N_CONCAT", "abcd", True, "os.environ.get"),
        EnvRead("app/settings.py", 24, 12, "P_FSTR", 'f"{a}-{b}"', False, "os.getenv"),
        EnvRead("app/settings.py", 25, 12, "Q_PLUS", "abcd", True, "os.getenv"),
    ]


def test_env_reads_from_import_os_path_and_getenv_alone() -> None:
    src = b'import os.path\nfrom os import getenv\nA = os.getenv("A")\nB = getenv("B", "")\nC = os.environ["C"]\n'
    assert [(r.variable, r.call, r.default, r.default_is_literal) for r in env_reads("m.py", src)] == [
        ("A", "os.getenv", None, False),
        ("B", "os.getenv", "", True),
        ("C", "os.environ[]", None, False),
    ]


def test_no_os_import_no_reads() -> None:
    assert env_reads("m.py", b'getenv("A_TOKEN", "x")\nenviron["B"]\n') == []


@pytest.mark.parametrize(
    ("source", "line"),
    [
        (b"import os\ndef f(:\n    pass\n", 2),
        (b"import os\nprint 'python 2'\n", 2),
        (b"x = 1\n\n\nclass C\n", 4),
    ],
)
def test_syntax_error_is_path_line_reason(source: bytes, line: int) -> None:
    with pytest.raises(PythonSyntaxError) as info:
        env_reads("app/broken.py", source)
    assert info.value.path == "app/broken.py" and info.value.line == line
    assert str(info.value).startswith(f"app/broken.py:{line}: ")
    assert info.value.reason
    with pytest.raises(PythonSyntaxError):
        python_findings("app/broken.py", source, fix=True)


def test_undecodable_source_is_a_python_syntax_error() -> None:
    with pytest.raises(PythonSyntaxError, match=r"^m\.py:1: "):
        env_reads("m.py", b"x = '\xff\xfe'\n")


# --- python_findings details ---


def test_no_finding_for_settings_empty_none_and_computed_defaults() -> None:
    src = (PYENV / "no_findings" / "input.py").read_bytes()
    findings, new, values = python_findings("input.py", src, fix=True)
    assert findings == [] and new is None and values == {}
    assert len(env_reads("input.py", src)) >= 15


def test_known_format_is_a_secret_under_any_name() -> None:
    token = "gh" + "p_" + rnd(36)
    src = f'import os\nGITHUB_CONFIG = os.getenv("GITHUB_CONFIG", "{token}")\n'.encode()
    findings, new, values = python_findings("m.py", src, fix=True)
    assert [(f.line, f.column, f.variable, f.value_class) for f in findings] == [
        (2, 27, "GITHUB_CONFIG", "real-looking")
    ]
    assert "github-token" in findings[0].message and "rotate this credential" in findings[0].message
    assert token not in findings[0].message
    assert values == {"GITHUB_CONFIG": token}
    assert new == b'import os\nGITHUB_CONFIG = os.environ["GITHUB_CONFIG"]\n'


def test_weak_names_need_a_secret_looking_value() -> None:
    src = (b'import os\nA = os.getenv("AUTH_PROVIDER", "oidc")\nB = os.getenv("SSH_KEY", "/root/.ssh/id_ed25519")\n'
           b'C = os.getenv("PRIVATE_KEY", "changeme")\nD = os.getenv("API_KEY", "local")\n')
    findings, _, _ = python_findings("m.py", src, fix=False)
    assert [(f.variable, f.value_class) for f in findings] == [("PRIVATE_KEY", "placeholder"), ("API_KEY", "plain")]


def test_getenv_imported_with_os_uses_os_environ() -> None:
    src = b'from os import getenv\nimport os\n\nX = getenv("DB_PASSWORD", "s3cr3t-Pa55w0rd-Xy9")  # keep\n'
    _, new, _ = python_findings("m.py", src, fix=True)
    assert new == b'from os import getenv\nimport os\n\nX = os.environ["DB_PASSWORD"]  # keep\n'


def test_getenv_without_os_in_scope_is_display_only() -> None:
    # `os` is imported only after the read, or shadowed by a parameter
    for src in (
        b'from os import getenv\nX = getenv("DB_PASSWORD", "s3cr3t-Pa55w0rd-Xy9")\nimport os\n',
        b'from os import getenv\nimport os\ndef f(os):\n    return getenv("DB_PASSWORD", "s3cr3t-Pa55w0rd-Xy9")\n',
    ):
        findings, new, _ = python_findings("m.py", src, fix=True)
        assert new is None
        assert [(f.variable, f.fixable) for f in findings] == [("DB_PASSWORD", False)]
        assert 'os.environ["DB_PASSWORD"]' in findings[0].fix


def test_config_extends_secret_words() -> None:
    src = b'import os\nX = os.getenv("ACME_SIGIL", "k3J9xQ2mZ7pL0vR8tY4wB6nC")\n'
    assert python_findings("m.py", src, fix=False)[0] == []
    findings, _, _ = python_findings("m.py", src, fix=False, config=Config(extra_secret_words=frozenset({"sigil"})))
    assert [f.variable for f in findings] == ["ACME_SIGIL"]


def test_parenthesised_call_and_keyword_default() -> None:
    src = b'import os as o\nX = (o.getenv(key="SECRET_KEY", default="k3J9xQ2mZ7pL0vR8tY4wB6nC")).strip()\n'
    findings, new, _ = python_findings("m.py", src, fix=True)
    assert [(f.line, f.column) for f in findings] == [(2, 19)]
    assert new == b'import os as o\nX = (o.environ["SECRET_KEY"]).strip()\n'


# --- build context files ---


def _tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")


CONTEXT = {
    "app/__init__.py": "",
    "app/settings.py": 'import os\nDB = os.environ["POSTGRES_HOST"]\nPW = os.getenv("POSTGRES_PASSWORD")\n',
    "app/local_settings.py": 'import os\nX = os.getenv("LOCAL_ONLY")\n',
    "app/keep_local_settings.py": 'import os\nX = os.getenv("KEPT_LOCAL")\n',
    "app/broken.py": "def f(:\n",
    "tests/test_app.py": 'import os\nT = os.getenv("TEST_ONLY")\n',
    "build/generated.py": 'import os\nG = os.getenv("GENERATED")\n',
    "node_modules/pkg/x.py": 'import os\nN = os.getenv("NODE_MODULES")\n',
    ".venv/lib/site.py": 'import os\nV = os.getenv("VENV")\n',
    "manage.py": 'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "app.settings")\n',
    "README.md": "os.getenv('NOT_PYTHON')\n",
    ".dockerignore": "# not in the image\ntests\n**/*local_settings.py\n!app/keep_local_settings.py\n",
}


def test_context_files_in_a_git_work_tree(tmp_path: Path) -> None:
    _tree(tmp_path, {**CONTEXT, ".gitignore": "build/\nnode_modules/\n.venv/\n"})
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "app/settings.py", ".gitignore")
    git(tmp_path, "commit", "-qm", "init")  # the rest is untracked (not ignored) or ignored
    files = [p.relative_to(tmp_path).as_posix() for p in context_python_files(tmp_path)]
    assert files == ["app/__init__.py", "app/broken.py", "app/keep_local_settings.py", "app/settings.py", "manage.py"]
    assert app_reads(tmp_path) == {"POSTGRES_HOST", "POSTGRES_PASSWORD", "KEPT_LOCAL", "DJANGO_SETTINGS_MODULE"}


def test_context_subdirectory_of_a_work_tree(tmp_path: Path) -> None:
    _tree(tmp_path / "services" / "api", CONTEXT)
    _tree(tmp_path, {".gitignore": "node_modules/\n.venv/\n", "other/x.py": 'import os\nos.getenv("OTHER")\n'})
    git(tmp_path, "init", "-q", "-b", "main")
    ctx = tmp_path / "services" / "api"
    files = [p.relative_to(ctx).as_posix() for p in context_python_files(ctx)]
    assert "build/generated.py" in files  # not ignored by git here
    assert not any(f.startswith(("tests/", "node_modules/", ".venv/", "../")) for f in files)
    assert "OTHER" not in app_reads(ctx)


def test_context_files_outside_git(tmp_path: Path) -> None:
    _tree(tmp_path, CONTEXT)
    files = [p.relative_to(tmp_path).as_posix() for p in context_python_files(tmp_path)]
    assert files == [
        "app/__init__.py", "app/broken.py", "app/keep_local_settings.py", "app/settings.py",
        "build/generated.py", "manage.py",
    ]
    assert "GENERATED" in app_reads(tmp_path) and "VENV" not in app_reads(tmp_path)


@pytest.mark.parametrize(
    ("patterns", "path", "excluded"),
    [
        ("tests", "tests/test_app.py", True),
        ("tests", "app/tests/test_x.py", False),
        ("**/tests", "app/tests/test_x.py", True),
        ("*.py", "manage.py", True),
        ("*.py", "app/settings.py", False),
        ("**/*.py", "app/settings.py", True),
        ("/app/*.py", "app/settings.py", True),
        ("app/", "app/settings.py", True),
        ("app/*\n!app/settings.py", "app/settings.py", False),
        ("app/*\n!app/settings.py", "app/urls.py", True),
        ("*\n!app", "app/urls.py", False),
        ("# comment\n\n  ", "app/urls.py", False),
        ("settings.p?", "settings.py", True),
        ("[a-c]pp/x.py", "app/x.py", True),
        ("[!a]pp/x.py", "app/x.py", False),
        ("./app/x.py", "app/x.py", True),
    ],
)
def test_dockerignore_matcher(patterns: str, path: str, excluded: bool) -> None:
    assert dockerignore_matcher(patterns)(path) is excluded


# --- regenerate the golden files ---


def _update() -> None:  # pragma: no cover - run by hand
    for case in CASES:
        data = (case / "input.py").read_bytes()
        (case / "expected.py").write_bytes(fixed_bytes(data))
        (case / "findings.txt").write_text(findings_text(data), encoding="utf-8")
        print(f"updated {case.relative_to(PYENV.parent.parent)}")


if __name__ == "__main__":  # pragma: no cover
    if sys.argv[1:] == ["--update"]:
        _update()


def test_a_column_named_key_is_a_setting() -> None:
    """The false positive of the monorepo audit (issue 15): ``column`` (like ``table``, ``field``, ``attr``)
    names where a key is stored, not a key; a real key read beside it is still found."""
    src = (b"import os\n"
           b'BRANDING_COLUMN = os.environ.get("JELLYFIN_BRANDING_KEY_COLUMN", "key")\n'
           b'TOKEN_FIELD = os.getenv("API_TOKEN_FIELD", "token")\n'
           b'KEY = os.environ.get("JELLYFIN_API_KEY", "' + rnd(32).encode() + b'")\n')
    findings, _, _ = python_findings("settings.py", src, fix=False)
    assert [(f.line, f.variable) for f in findings] == [(4, "JELLYFIN_API_KEY")]
