"""One redactor for every output (issue 17, design.md section 5): values only, never names, kinds or rule
text; ``${X:-value}`` fallbacks included. A value is planted in a fallback and grepped for in every output
format and every file written; a value that equals a word of a name must leave the name alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_verify import _config, _tar, write_docker_archive

from codemod.model import FileChange, RunResult

from conftest import git
from test_pr import GH_URL, TOKEN, github, isolated_git  # noqa: F401 - fixtures

MASK = "***"
PLANTED = "sk-proj-" + "Zq7Xw2Lm9Pk4Rt6Vb8Nc1Hd3Jf5Gs0Ya"  # made up, OpenAI-key shaped
PIECE = PLANTED[10:22]
DOCKERFILE = (
    "FROM python:3.12\n"
    "ARG OPENAI_API_KEY\n"
    "ENV OPENAI_API_KEY=${OPENAI_API_KEY:-" + PLANTED + "} \\\n"
    "    LOG_LEVEL=info\n"
    "ARG AWS_SECRET_ACCESS_KEY=SECRET\n"
    "ARG SESSION_SECRET=default\n"
    "COPY . /app\n"
    "CMD [\"python\", \"-m\", \"app\"]\n"
)


def assert_clean(text: str | bytes, where: str) -> None:
    data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
    assert PLANTED.encode() not in data and PIECE.encode() not in data, f"the planted value is in {where}"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    r = tmp_path / "work"
    r.mkdir()
    (r / "Dockerfile").write_text(DOCKERFILE)
    (r / "app.py").write_text("import os\nKEY = os.environ['OPENAI_API_KEY']\n")
    git(r, "init", "-q", "-b", "main")
    git(r, "add", "-A")
    git(r, "commit", "-qm", "app")
    git(r, "remote", "add", "origin", GH_URL)
    git(r, "config", f"url.{bare}.insteadOf", GH_URL)
    git(r, "push", "-q", "origin", "main")
    monkeypatch.chdir(r)
    return r, bare


def test_every_output_format_and_every_file_written(repo: tuple[Path, Path], tmp_path: Path, cli, github: Any,  # noqa: F811
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    work, _ = repo
    outputs: dict[str, str] = {}
    for fmt in ("text", "json", "sarif", "diff"):
        code, out, err = cli("--format", fmt, "-v")
        assert code == 1, out + err
        outputs[fmt] = out + err
    outputs["check"] = "".join(cli("--check")[1:])
    code, out, err = cli("--output", str(tmp_path / "out.txt"), "--report", str(tmp_path / "report.json"))
    outputs["--output"] = (tmp_path / "out.txt").read_text()
    outputs["--report"] = (tmp_path / "report.json").read_text()
    # the diff shows what goes, with the fallback masked where it stood
    assert "-ENV OPENAI_API_KEY=${OPENAI_API_KEY:-" + MASK + "} \\" in outputs["diff"], outputs["diff"]
    # names and kinds are never edited: a value SECRET or default leaves AWS_SECRET_ACCESS_KEY alone
    for fmt in ("text", "json", "sarif", "diff"):
        assert "AWS_SECRET_ACCESS_KEY" in outputs[fmt] and "AWS_***" not in outputs[fmt], fmt
    for fmt in ("json", "sarif"):
        assert "arg-default-secret" in outputs[fmt] and "arg-***" not in outputs[fmt], fmt

    api, url = github("create")
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    code, out, err = cli("--pr", "--github-api-url", url)
    assert code == 0, out + err
    assert api.problems == []
    outputs["--pr"] = out + err
    post = next(r for r in api.requests if r["method"] == "POST")
    outputs["PR title and body"] = post["json"]["title"] + post["json"]["body"]
    outputs["commit message"] = git(work, "log", "-1", "--format=%B")
    for name in git(work, "show", "--name-only", "--format=", "HEAD").split():
        outputs[f"committed {name}"] = git(work, "show", f"HEAD:{name}")
    for where, text in outputs.items():
        assert_clean(text, where)
    for p in work.rglob("*"):  # every file written (and every other) in the work tree
        if p.is_file() and ".git" not in p.relative_to(work).parts[:1]:
            assert_clean(p.read_bytes(), str(p))


def test_verify_report_and_its_scan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from codemod.analysis.names import is_secret_name
    from codemod.verify import verify_command

    history = ["ENV OPENAI_API_KEY=${OPENAI_API_KEY:-" + PLANTED + "}",
               f"RUN |1 AWS_SECRET_ACCESS_KEY={PLANTED} /bin/sh -c echo"]
    layer = _tar({"app/settings.txt": f"key={PLANTED}\n".encode()})
    archive = write_docker_archive(tmp_path / "img.tar", _config([f"OPENAI_API_KEY={PLANTED}"], history, [layer]),
                                   [layer])
    for fmt in ("text", "json"):
        code = verify_command(is_secret_name=lambda n: bool(is_secret_name(n)), image_archive=archive,
                              known_values={"OPENAI_API_KEY": PLANTED}, run_container=False, output_format=fmt)
        out, err = capsys.readouterr()
        assert code == 2
        assert_clean(out + err, f"verify --format {fmt}")
        assert "OPENAI_API_KEY" in out and "AWS_SECRET_ACCESS_KEY" in out


def test_the_redactor_masks_values_never_names() -> None:
    from codemod.output.redact import Redactor

    result = RunResult()
    result.secret_values.update({"AWS_SECRET_ACCESS_KEY": "SECRET", "S": "default", "K": "hunter2hunter2"})
    old = b"ARG AWS_SECRET_ACCESS_KEY=SECRET\nARG SESSION=default\nENV K=hunter2hunter2 AWS_SECRET=x\n"
    result.changes.append(FileChange(Path("Dockerfile"), "dockerfile", old, b"ENV AWS_SECRET=x\n",
                                     [(26, 32), (45, 52), (59, 73)]))
    red = Redactor(result)
    text = "AWS_SECRET_ACCESS_KEY arg-default-secret SESSION_SECRET default hunter2hunter2 x:hunter2hunter2@h"
    assert red.text(text) == ("AWS_SECRET_ACCESS_KEY arg-default-secret SESSION_SECRET default *** x:***@h")
    old_text, new_text = red.sides(result.changes[0])
    assert old_text == "ARG AWS_SECRET_ACCESS_KEY=***\nARG SESSION=***\nENV K=*** AWS_SECRET=x\n"
    assert new_text == "ENV AWS_SECRET=x\n"
    doc = red.doc({"variable": "hunter2hunter2", "message": "ENV K=hunter2hunter2", "kind": "x"})
    assert doc == {"variable": "hunter2hunter2", "message": "ENV K=***", "kind": "x"}
    assert Redactor(result, show_values=True).text(text) == text


def test_a_value_kept_in_an_edited_line_is_masked_on_both_sides() -> None:
    from codemod.output.redact import Redactor

    old = b"FROM a\nENV A=1 TOKEN=tok-12345 B=2\n"
    new = b"FROM a\nENV A=1 TOKEN=tok-12345\n"
    start = old.index(b"tok-")
    change = FileChange(Path("Dockerfile"), "dockerfile", old, new, [(start, start + 9)])
    old_text, new_text = Redactor().sides(change)
    assert "tok-12345" not in old_text + new_text
    assert new_text == "FROM a\nENV A=1 TOKEN=***\n"


def test_report_json_keeps_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    (tmp_path / "Dockerfile").write_text("FROM a\nARG AWS_SECRET_ACCESS_KEY=SECRET\nENV SECRET=hunter2hunter2\n")
    monkeypatch.chdir(tmp_path)
    doc = json.loads(cli("--format", "json")[1])
    assert {f["variable"] for f in doc["findings"]} >= {"AWS_SECRET_ACCESS_KEY", "SECRET"}
    assert "hunter2hunter2" not in json.dumps(doc)


def test_a_value_on_an_unchanged_line_is_masked_in_the_context() -> None:
    """A finding left for a human keeps its line; the diff shows it as context, masked."""
    from codemod.output.redact import Redactor

    old = b"FROM a\nENV KEY=${KEY:-tok-123}\nARG DB_PASSWORD=pw-1234\n"
    new = b"FROM a\nENV KEY=${KEY:-tok-123}\n"
    spans = [(old.index(b"tok-123"), old.index(b"tok-123") + 7), (old.index(b"pw-1234"), old.index(b"pw-1234") + 7)]
    old_text, new_text = Redactor().sides(FileChange(Path("Dockerfile"), "dockerfile", old, new, spans))
    assert old_text == "FROM a\nENV KEY=${KEY:-***}\nARG DB_PASSWORD=***\n"
    assert new_text == "FROM a\nENV KEY=${KEY:-***}\n"
