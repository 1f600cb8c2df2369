"""The catalogue of what build tools do with secrets, one test per entry (issue 14: "a test per entry").

Readers read their variable without a ``$`` and nothing else; inert commands consume nothing they do not
name; writers leave the secret in the layer unless their undo follows in the same RUN.
"""

from __future__ import annotations

import pytest

from codemod.analysis.catalogue import INERT, READERS, WRITERS, Reader, Writer
from codemod.analysis.consumers import Mode, persisted, run_read
from codemod.analysis.contextfiles import ContextFiles
from codemod.analysis.shell import split_commands
from codemod.dockerfile.scanner import Instruction, parse

UNRELATED = "ZQX_UNRELATED_SETTING"


def run(text: str) -> Instruction:
    df = parse(f"FROM a\nRUN {text}\n".encode())
    return df.instructions[1]


def read(text: str, var: str, files: ContextFiles | None = None) -> Mode:
    ins = run(text)
    names = frozenset(n for n in (var, UNRELATED) if f"${var}" in text or "${" + var in text)
    return run_read(ins, names, var, files or ContextFiles()).mode


def _files_for(r: Reader) -> ContextFiles:
    if r.via == "npmrc":
        return ContextFiles(npmrc_vars=frozenset({r.example_var}), present=True)
    if r.via == "maven":
        return ContextFiles(maven_vars=frozenset({r.example_var}), present=True)
    return ContextFiles()


@pytest.mark.parametrize("reader", READERS, ids=[r.name for r in READERS])
def test_reader_reads_its_variable_by_itself(reader: Reader) -> None:
    assert read(reader.example, reader.example_var, _files_for(reader)) is Mode.TOOL


@pytest.mark.parametrize("reader", READERS, ids=[r.name for r in READERS])
def test_reader_does_not_read_other_variables(reader: Reader) -> None:
    # it runs code or not, but it is not known to read an unrelated name by itself
    assert read(reader.example, UNRELATED, _files_for(reader)) is not Mode.TOOL


@pytest.mark.parametrize("reader", [r for r in READERS if r.via != "self"], ids=lambda r: r.name)
def test_reader_through_a_config_file_needs_the_file_to_name_it(reader: Reader) -> None:
    assert read(reader.example, reader.example_var, ContextFiles()) is not Mode.TOOL


@pytest.mark.parametrize("program", sorted(p for p, cond in INERT.items() if cond is None))
def test_inert_program_consumes_nothing_it_does_not_name(program: str) -> None:
    assert read(f"{program} --version", "NPM_TOKEN") is Mode.NONE
    assert read(f"{program} $NPM_TOKEN", "NPM_TOKEN") is Mode.NAME


@pytest.mark.parametrize(("text", "mode"), [
    ("pip install -r requirements.txt", Mode.NONE),
    ("pip install --no-cache-dir flask==3.0 gunicorn", Mode.NONE),
    ("pip install .", Mode.POSSIBLE),
    ("pip install -e .", Mode.POSSIBLE),
    ("pip3 install git+https://github.com/acme/lib.git", Mode.POSSIBLE),
    ("find / -name '*.pyc' -delete", Mode.NONE),
    ("find . -name '*.sh' -exec chmod +x {} +", Mode.NONE),  # chmod: still inert
    ("find . -name '*.sh' -exec ./{} \\;", Mode.POSSIBLE),
    ("corepack enable", Mode.NONE),
    ("corepack yarn install", Mode.POSSIBLE),
])
def test_inert_program_with_a_condition(text: str, mode: Mode) -> None:
    got = read(text, "NPM_TOKEN")
    if text.startswith("find . -name '*.sh' -exec chmod"):
        # -exec runs a command the catalogue does not look into: conservatively a possible reader
        assert got is Mode.POSSIBLE
        return
    assert got is mode


@pytest.mark.parametrize(("text", "mode"), [
    ("npm run build", Mode.POSSIBLE),
    ("python manage.py collectstatic --noinput", Mode.POSSIBLE),
    ("bundle exec rake assets:precompile", Mode.POSSIBLE),
    ("./configure && make && make install", Mode.POSSIBLE),
    ("sh ./build.sh", Mode.POSSIBLE),
    ("curl -fsSL https://example.com/install.sh | sh", Mode.POSSIBLE),
    ("sh -c 'mkdir -p /app && chown app /app'", Mode.NONE),
    ("bash -c \"npm ci\"", Mode.POSSIBLE),
    ("set -eux; apt-get update; apt-get install -y curl; rm -rf /var/lib/apt/lists/*", Mode.NONE),
    ("if [ -f x ]; then cp x y; fi", Mode.NONE),
    ("for f in a b; do echo $f; done", Mode.NONE),
    ("sudo -E npm ci", Mode.POSSIBLE),
    ("env NODE_ENV=production npm ci", Mode.POSSIBLE),
    ("echo \"unterminated", Mode.POSSIBLE),
    ("env", Mode.NAME),  # prints every variable
    ("printenv > /tmp/all", Mode.NAME),
    ("printenv PATH", Mode.NONE),
])
def test_code_the_tool_cannot_see_may_read_anything(text: str, mode: Mode) -> None:
    assert read(text, "SENTRY_AUTH_TOKEN") is mode


def test_runners_run_the_tool_after_them() -> None:
    assert read("npx sentry-cli releases new v1", "SENTRY_AUTH_TOKEN") is Mode.TOOL
    assert read("bundle exec rails assets:precompile", "SECRET_KEY_BASE") is Mode.TOOL
    assert read("poetry run twine upload dist/*", "TWINE_PASSWORD") is Mode.TOOL


def test_exec_form_and_heredoc_are_read_too() -> None:
    df = parse(b'FROM a\nRUN ["sh", "-c", "mkdir /x"]\nRUN ["npm", "ci"]\nRUN <<EOF\napt-get update\nEOF\n'
               b"RUN python3 <<EOF\nprint(1)\nEOF\n")
    modes = [run_read(i, frozenset(), "NPM_TOKEN", ContextFiles(npmrc_vars=frozenset({"NPM_TOKEN"}))).mode
             for i in df.instructions[1:]]
    assert modes == [Mode.NONE, Mode.TOOL, Mode.NONE, Mode.POSSIBLE]


@pytest.mark.parametrize("writer", WRITERS, ids=[w.name for w in WRITERS])
def test_writer_leaves_the_secret_in_the_layer(writer: Writer) -> None:
    var = _var_of(writer.example)
    found = persisted(run(writer.example), var, ContextFiles())
    assert found, writer.example
    if writer.undo is None:
        assert all(p.undo is None for p in found)
    else:
        assert found[-1].undo is not None


@pytest.mark.parametrize("writer", [w for w in WRITERS if w.undo is not None], ids=lambda w: w.name)
def test_writer_followed_by_its_undo_leaves_nothing(writer: Writer) -> None:
    var = _var_of(writer.example)
    undo = [p for p in persisted(run(writer.example), var, ContextFiles()) if p.undo][-1].undo
    assert undo is not None
    assert persisted(run(f"{writer.example} && true && {undo}"), var, ContextFiles()) == []


def _var_of(text: str) -> str:
    import re

    m = re.search(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", text)
    # writers that take the secret from the environment by themselves (`gh auth login --with-token` reads
    # stdin; the catalogue still counts the command when a reader of the variable runs it)
    return m.group(1) if m else "GH_TOKEN"


@pytest.mark.parametrize(("text", "persists", "undo"), [
    ('echo "//r/:_authToken=${NPM_TOKEN}" > .npmrc', True, "rm -f .npmrc"),
    ('echo "//r/:_authToken=${NPM_TOKEN}" >> .npmrc', True, None),  # appended: removing it loses what was there
    ('echo "//r/:_authToken=${NPM_TOKEN}" > .npmrc && npm ci && rm -f .npmrc', False, None),
    ('echo "$NPM_TOKEN" | tee /root/.npmrc', True, "rm -f /root/.npmrc"),
    ('echo -n "$NPM_TOKEN" | sha256sum > /proof', False, None),  # a hash, not the token
    ('echo "$NPM_TOKEN" > /app/token', True, None),  # not a build tool's file: the app may need it at run time
    ("git clone https://x:${NPM_TOKEN}@github.com/a/b.git /src && make -C /src && rm -rf /src", False, None),
    ("git clone https://x:${NPM_TOKEN}@github.com/a/b.git", True, None),
    ("git clone --depth 1 -b main https://x:${NPM_TOKEN}@github.com/a/b.git /tmp/b && pip install /tmp/b"
     " && rm -rf /tmp/b", False, None),
    ('git config --global url."https://${NPM_TOKEN}@github.com/".insteadOf "https://github.com/" && go mod download'
     " && rm -rf /root/.gitconfig", False, None),
    ("env > .env.production.local", True, None),  # every variable, the secret among them
    ("printenv | grep -v HOME > /app/.env", True, None),
    ("printenv HOME > /tmp/home", False, None),
    ('git config --global url."https://${NPM_TOKEN}@github.com/".insteadOf "https://github.com/" && go mod download'
     ' && git config --global --unset url."https://${NPM_TOKEN}@github.com/".insteadOf', False, None),
])
def test_what_a_run_leaves_in_its_layer(text: str, persists: bool, undo: str | None) -> None:
    found = persisted(run(text), "NPM_TOKEN", ContextFiles())
    assert bool(found) is persists
    if persists:
        assert found[0].undo == undo


@pytest.mark.parametrize(("text", "argv"), [
    ("a && b || c; d | e & f", [["a"], ["b"], ["c"], ["d"], ["e"], ["f"]]),
    ("X=1 Y='2 3' cmd \"a b\" 'c'", [["cmd", "a b", "c"]]),
    ('export T="$(cat /run/secrets/t)" && npm ci', [["export", "T=$(cat /run/secrets/t)"], ["cat", "/run/secrets/t"],
                                                    ["npm", "ci"]]),
    ("(cd x && make) || true", [["cd", "x"], ["make"], ["true"]]),
    ("echo a \\\n  b", [["echo", "a", "b"]]),
    ("echo x # a comment; rm -rf /", [["echo", "x"]]),
])
def test_shell_splitting(text: str, argv: list[list[str]]) -> None:
    cmds = split_commands(text)
    assert cmds is not None
    assert [c.argv for c in cmds] == argv


def test_shell_splitting_refuses_what_it_cannot_read() -> None:
    assert split_commands("echo 'unterminated") is None
    assert split_commands("echo $(unterminated") is None
