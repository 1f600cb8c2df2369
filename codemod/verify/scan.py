"""Scan an image for secrets: the plan's three tests, reported without ever showing a value.

* **Test 1** (history and config): secret-named variables carrying a value (non-empty, not a
  ``$REF``) in the config's ``Env``, ``Labels``, ``Cmd``/``Entrypoint``/``Healthcheck`` assignments,
  and in the history (``|N NAME=value`` prefixes of RUN steps, ``ARG``/``ENV``/``LABEL`` steps, as
  buildah, the classic builder and BuildKit record them); known values anywhere in those, ``User``
  included.
* **Test 2** (runtime): the variables reach a container started with them, when a :class:`Runner`
  is available; else NOT COVERED.
* **Test 3** (layers and build cache): every layer file's content for the values (known ones and the
  ones Test 1 found), well-known credential files (``.npmrc`` with a literal ``_authToken``, ``.netrc``,
  ``.pypirc``, ``.git-credentials``, ``id_rsa``..., ``.env``), and the same for build-cache images
  when the caller has them. Names alone in files are not leaks.

Values shorter than :data:`MIN_SEARCH_LEN` or equal to a non-secret setting are not searched as
substrings (they would match everywhere); exact pairs still count.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from codemod.output.redact import MASK, Redactor, carries_value
from codemod.verify.archive import Image, Layer

__all__ = [
    "MIN_SEARCH_LEN",
    "REDACTED",
    "CheckResult",
    "Leak",
    "Runner",
    "VerifyReport",
    "carries_value",
    "redact_assignments",
    "render_json",
    "render_text",
    "verify_image",
]

MIN_SEARCH_LEN = 8
REDACTED = MASK
PASS, FAIL, NOT_COVERED = "PASS", "FAIL", "NOT COVERED"
TITLES = {"1": "history and config", "2": "runtime environment", "3": "layers and build cache"}

_PAIR = re.compile(r"""(?<![\w$.-])([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)""")
_NOP = re.compile(r"^/bin/sh -c #\(nop\)\s*")
_RUN_ARGS = re.compile(r"^(?:RUN\s+)?\|(\d+)\s+")
_HEAD_LEN = 72

# well-known credential files (Test 3): a name alone is no leak, a literal credential in it is
_NPMRC = re.compile(r"(?m)^[ \t]*(?:\S*:)?(_authToken|_auth|_password)[ \t]*=[ \t]*(\S.*?)[ \t]*$")
_NETRC = re.compile(r"(?:^|\s)password\s+(\S+)")
_GIT_CRED = re.compile(r"://[^/\s:@]*:([^@\s]+)@")
_PYPIRC = re.compile(r"(?m)^[ \t]*password[ \t]*[=:][ \t]*(\S.*?)[ \t]*$")
_SSH_KEYS = {"id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk"}
_ENV_EXAMPLES = {"example", "sample", "template", "dist", "defaults", "tmpl", "j2"}
_ENV_LINE = re.compile(r"(?m)^[ \t]*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)[ \t]*=[ \t]*(.*?)[ \t]*$")
_AWS = re.compile(r"(?m)^[ \t]*aws_secret_access_key[ \t]*=[ \t]*(\S+)")
_DOCKER_AUTH = re.compile(r'"(auth|identitytoken)"\s*:\s*"([^"]+)"')


class Runner(Protocol):
    """Starts a container from the image under test (docker run, podman run, buildah run)."""

    @property
    def name(self) -> str: ...

    def check_env(self, names: Sequence[str]) -> dict[str, bool] | None:
        """Start a container with ``names`` set (to dummy values) at runtime; say which it sees.

        None when no container could be started (no shell in the image, runner failure).
        """
        ...


@dataclass(frozen=True)
class Leak:
    """One place a secret was found; ``where`` locates it, ``detail`` says what; never the value."""

    test: str
    where: str
    variable: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"test": self.test, "where": self.where, "variable": self.variable, "detail": self.detail}


@dataclass
class CheckResult:
    test: str
    status: str
    notes: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return TITLES[self.test]


@dataclass
class VerifyReport:
    """What :func:`verify_image` found. ``exit_code`` is 2 on any failure, else 0."""

    image: str
    source: str
    leaks: list[Leak]
    results: dict[str, CheckResult]
    redactor: Redactor = field(default_factory=Redactor, repr=False, compare=False)

    @property
    def failed(self) -> bool:
        return any(r.status == FAIL for r in self.results.values())

    @property
    def exit_code(self) -> int:
        return 2 if self.failed else 0

    def status(self, test: str) -> str:
        return self.results[test].status


def redact_assignments(text: str, is_secret_name: Callable[[str], bool]) -> str:
    """``text`` with the value of every secret-named ``NAME=value`` replaced by ``***`` (for logs)."""
    return Redactor().assignments(text, is_secret_name)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


class _Scanner:
    def __init__(self, known: Mapping[str, str], settings: Iterable[str],
                 is_secret_name: Callable[[str], bool]) -> None:
        self.is_secret = is_secret_name
        self.settings = {s for s in settings if s}
        self.known = {n: v for n, v in known.items() if v and carries_value(v) and v not in self.settings}
        # value -> variable, for substring search (history, config strings, layer files)
        self.search: dict[str, str] = {}
        for name, value in sorted(self.known.items()):
            self._add_search(name, value)
        self.not_searched = sorted(n for n, v in known.items() if carries_value(v) and v not in self.search)
        self.redactor = Redactor(values=(v for v in known.values() if carries_value(v)))
        self.leaks: list[Leak] = []
        self._seen: set[tuple[str, str]] = set()

    def _add_search(self, name: str, value: str) -> None:
        if len(value) >= MIN_SEARCH_LEN and value not in self.settings:
            self.search.setdefault(value, name)

    def found_value(self, name: str, value: str) -> None:
        value = _unquote(value)
        self.redactor.add(value)
        self._add_search(name, value)

    def add(self, test: str, where: str, variable: str, detail: str, key: str) -> None:
        """Record a leak once per ``key`` (a location that does not depend on the image: the same
        step or config entry in the final image and in a build-cache image is one leak)."""
        if (key, variable) not in self._seen:
            self._seen.add((key, variable))
            self.leaks.append(Leak(test, where, variable, detail))

    def known_in(self, text: str) -> list[str]:
        return sorted({name for value, name in self.search.items() if value in text})

    def redacted(self, text: str) -> str:
        return self.redactor.text(text)

    # -- Test 1 ----------------------------------------------------------------------------------
    def pairs(self, text: str) -> tuple[str, list[str]]:
        """Secret-named ``NAME=value`` pairs carrying a value: ``(text with them redacted, names)``."""
        out, last, names = [], 0, []
        for m in _PAIR.finditer(text):
            name, value = m.group(1), m.group(2)
            if self.is_secret(name) and carries_value(value):
                self.found_value(name, value)
                out.append(text[last:m.start(2)] + REDACTED)
                last = m.end(2)
                names.append(name)
        return "".join(out) + text[last:], names

    def config(self, cfg: Mapping[str, Any], test: str, prefix: str = "") -> None:
        for item in cfg.get("Env") or []:
            name, eq, value = str(item).partition("=")
            if not eq:
                continue
            where = f"config Env {name}"
            if self.is_secret(name) and carries_value(value):
                self.found_value(name, value)
                self.add(test, prefix + where, name, f"config Env sets {name}={REDACTED}", where)
        labels = cfg.get("Labels") or {}
        for key, value in sorted(labels.items()):
            leaf = re.split(r"[./]", key)[-1]
            if self.is_secret(leaf) and carries_value(str(value)):
                self.found_value(leaf, str(value))
                where = f"config Labels[{key}]"
                self.add(test, prefix + where, leaf, f"label {key}={REDACTED}", where)
        for key in ("Cmd", "Entrypoint", "Healthcheck"):
            entry = cfg.get(key)
            if key == "Healthcheck" and isinstance(entry, dict):
                entry = entry.get("Test")
            if not entry:
                continue
            text = " ".join(map(str, entry)) if isinstance(entry, list) else str(entry)
            for name in self.pairs(text)[1]:
                self.add(test, f"{prefix}config {key}", name, f"{name}={REDACTED} in the config's {key}",
                         f"config {key}")

    def config_known(self, cfg: Mapping[str, Any], test: str, prefix: str = "") -> None:
        """Known (and found) values anywhere in the config; run after every pair is collected."""
        for item in cfg.get("Env") or []:
            name, _, value = str(item).partition("=")
            for var in self._known_exact_or_in(value):
                where = f"config Env {name}"
                self.add(test, prefix + where, var, f"{name} holds the value of {var}", where)
        for key, value in sorted((cfg.get("Labels") or {}).items()):
            for var in self._known_exact_or_in(str(value)):
                where = f"config Labels[{key}]"
                self.add(test, prefix + where, var, f"a label holds the value of {var}", where)
        for key in ("Cmd", "Entrypoint", "User", "WorkingDir", "Healthcheck"):
            entry = cfg.get(key)
            if entry:
                for var in self.known_in(json.dumps(entry, ensure_ascii=False)):
                    self.add(test, f"{prefix}config {key}", var, f"config {key} holds the value of {var}",
                             f"config {key}")

    def _known_exact_or_in(self, value: str) -> list[str]:
        exact = [n for n, v in self.known.items() if v == value]
        return sorted(set(exact) | set(self.known_in(value)))

    def history(self, history: Sequence[Mapping[str, Any]], test: str, prefix: str = "") -> None:
        for i, step in enumerate(history):
            created_by = str(step.get("created_by") or "")
            text, names, what = self._history_step(created_by)
            for name in names:
                self.add(test, self._step_where(prefix, i, text), name, what.format(name=name, r=REDACTED),
                         f"history {created_by}")

    def history_known(self, history: Sequence[Mapping[str, Any]], test: str, prefix: str = "") -> None:
        """Values found anywhere (a later ENV, the config, a credential file) echoed by a step."""
        for i, step in enumerate(history):
            created_by = str(step.get("created_by") or "")
            for var in self.known_in(f"{created_by}\n{step.get('comment') or ''}"):
                text = self._history_step(created_by)[0]
                self.add(test, self._step_where(prefix, i, text), var,
                         f"the step's command holds the value of {var}", f"history {created_by}")

    def _step_where(self, prefix: str, index: int, text: str) -> str:
        head = self.redacted(text)
        if len(head) > _HEAD_LEN:
            head = head[: _HEAD_LEN - 1] + "…"
        return f"{prefix}history[{index}] {head}"

    def _history_step(self, created_by: str) -> tuple[str, list[str], str]:
        """``(instruction with secret pairs redacted, secret names carrying a value, detail template)``."""
        nop = _NOP.match(created_by)
        body = created_by[nop.end():] if nop else created_by
        m = _RUN_ARGS.match(body)
        if m:  # RUN with build args in scope: "|2 A=x B=y /bin/sh -c ..." (BuildKit: "RUN |2 ...")
            count = int(m.group(1))
            rest = body[m.end():]
            end = _args_prefix_end(rest, count)
            text, names = self.pairs(rest[:end])
            return (f"RUN |{count} {text}{rest[end:]}", names,
                    f"build arg {{name}}={{r}} recorded in the RUN step's |{count} prefix")
        word, _, rest = body.strip().partition(" ")
        if word in ("ARG", "ENV", "LABEL"):
            first = rest.split(None, 1)
            if word == "ENV" and len(first) == 2 and "=" not in first[0]:
                rest = f"{first[0]}={first[1]}"  # legacy "ENV NAME value"
            text, names = self.pairs(rest)
            return f"{word} {text}", names, f"{word} {{name}}={{r}} recorded in the history"
        if nop or body.startswith("RUN "):
            return body, [], word
        return f"RUN {body}", [], "RUN"

    # -- Test 3 ----------------------------------------------------------------------------------
    def layer(self, layer: Layer, prefix: str = "") -> None:
        for path, data in layer.files():
            where = f"{prefix}layer {layer.index + 1} {layer.id} {path}"
            self._credential_file(path, data, where)
            if data is None:
                continue
            for value, var in self.search.items():
                if value.encode("utf-8", "surrogateescape") in data:
                    self.add("3", where, var, f"file holds the value of {var}", where)

    def _credential_file(self, path: str, data: bytes | None, where: str) -> None:
        base = posixpath.basename(path)
        text = data.decode("utf-8", "replace") if data is not None else ""
        if base == ".npmrc":
            for m in _NPMRC.finditer(text):
                if carries_value(m.group(2)):
                    self._cred(where, m.group(1), m.group(2), ".npmrc holds a literal npm credential")
        elif base in (".netrc", "_netrc", ".git-credentials"):
            hit = (_NETRC if base != ".git-credentials" else _GIT_CRED).search(text)
            if hit or data is None:
                self._cred(where, base, hit.group(1) if hit else "", f"{base} holds a stored password")
        elif base == ".pypirc":
            for m in _PYPIRC.finditer(text):
                if carries_value(m.group(1)):
                    self._cred(where, ".pypirc", m.group(1), ".pypirc holds a password")
        elif base in _SSH_KEYS:
            if data is None or "PRIVATE KEY" in text:
                self._cred(where, base, "", "an SSH private key")
        elif base == ".env" or (base.startswith(".env.") and base.rsplit(".", 1)[-1] not in _ENV_EXAMPLES):
            for m in _ENV_LINE.finditer(text):
                if self.is_secret(m.group(1)) and carries_value(m.group(2)):
                    self._cred(where, m.group(1), m.group(2), f"{base} sets {m.group(1)}={REDACTED}")
        elif path.endswith("/.aws/credentials"):
            for m in _AWS.finditer(text):
                self._cred(where, "aws_secret_access_key", m.group(1), "AWS credentials with a secret key")
        elif path.endswith("/.docker/config.json"):
            for m in _DOCKER_AUTH.finditer(text):
                self._cred(where, m.group(1), m.group(2), "docker config.json holds registry credentials")

    def _cred(self, where: str, variable: str, value: str, detail: str) -> None:
        if value:
            self.found_value(variable, value)
        self.add("3", where, variable, detail, where)


def _args_prefix_end(rest: str, count: int) -> int:
    """End of the ``NAME=value`` pairs of a ``|N`` prefix (values are written unquoted)."""
    pos = 0
    for n in range(count):
        m = re.match(r"\s*[A-Za-z_][A-Za-z0-9_]*=", rest[pos:])
        if not m:
            return pos
        pos += m.end()
        if n + 1 < count:  # up to the next " NAME=" (a value may hold spaces)
            nxt = re.search(r" [A-Za-z_][A-Za-z0-9_]*=", rest[pos:])
            pos = pos + nxt.start() if nxt else len(rest)
        else:
            sp = rest.find(" ", pos)
            pos = len(rest) if sp < 0 else sp
    return pos


def verify_image(
    image: Image,
    *,
    known_values: Mapping[str, str],
    is_secret_name: Callable[[str], bool],
    runner: Runner | None,
    settings: Iterable[str] = (),
    runtime_names: Sequence[str] | None = None,
    cache: Sequence[Image] | None = None,
    cache_note: str = "",
    runner_note: str = "",
) -> VerifyReport:
    """Run the three tests on ``image``.

    ``known_values`` maps variable names to secret values to look for; ``settings`` are values of
    non-secret settings (a known value equal to one is not searched). ``runner`` runs Test 2 on
    ``runtime_names`` (default: the names of ``known_values``); ``runner_note`` says why there is
    none. ``cache`` are build-cache images to scan under Test 3 (None: the build cache is not
    covered, ``cache_note`` says why).
    """
    sc = _Scanner(known_values, settings, is_secret_name)
    results = {t: CheckResult(t, PASS) for t in ("1", "2", "3")}
    sources = [(image, "", "1")] + [(c, f"build cache image {_short(c)}: ", "3") for c in cache or ()]

    for img, prefix, test in sources:
        sc.config(img.config, test, prefix)
    for img, prefix, test in sources:
        sc.history(img.history, test, prefix)

    def known_values_in_metadata() -> None:
        for img, prefix, test in sources:
            sc.history_known(img.history, test, prefix)
            sc.config_known(img.config, test, prefix)

    known_values_in_metadata()

    seen_layers: set[str] = set()
    for img, prefix, _test in sources:
        for layer in img.layers:
            if layer.id in seen_layers:
                continue
            seen_layers.add(layer.id)
            sc.layer(layer, prefix)
    known_values_in_metadata()  # again, with the credentials the layers held
    results["3"].notes.append(f"{len(seen_layers)} layer(s) scanned; {len(sc.search)} value(s) searched")
    if sc.not_searched:
        results["3"].notes.append(f"not searched in files (under {MIN_SEARCH_LEN} characters or equal to a "
                                  f"setting): {', '.join(sc.not_searched)}")
    if cache is None:
        results["3"].notes.append("build cache: not covered" + (f" ({cache_note})" if cache_note else ""))
    else:
        results["3"].notes.append(f"build cache: {len(cache)} intermediate image(s) scanned")

    names = list(runtime_names) if runtime_names is not None else sorted(known_values)
    if runner is None:
        results["2"] = CheckResult("2", NOT_COVERED,
                                   [runner_note or "no container runner (docker, podman or buildah)"])
    elif not names:
        results["2"] = CheckResult("2", NOT_COVERED, ["no runtime variables to check (give --values-from)"])
    else:
        seen = runner.check_env(names)
        if seen is None:
            why = f"{runner.name} could not start /bin/sh in the image"
            results["2"] = CheckResult("2", NOT_COVERED, [why])
        else:
            results["2"].notes.append(f"{runner.name}: {len(names)} variable(s) checked")
            for name in names:
                if not seen.get(name):
                    sc.add("2", f"{runner.name} container", name,
                           f"{name} given at runtime does not reach the container's environment", "run")
    for leak in sc.leaks:
        results[leak.test].status = FAIL
    return VerifyReport(image.name, f"{image.format} {image.source}", sc.leaks, results, sc.redactor)


def _short(img: Image) -> str:
    return (img.config_digest.split(":", 1)[-1] or img.ref)[:12]


def render_text(report: VerifyReport) -> str:
    lines = [f"migrate-secrets verify: {report.image} ({report.source})"]
    for test in ("1", "2", "3"):
        res = report.results[test]
        lines.append(f"Test {test} ({res.title}): {res.status}")
        for leak in (lk for lk in report.leaks if lk.test == test):
            lines.append(f"  - {leak.where}: {leak.detail}")
        lines.extend(f"  note: {n}" for n in res.notes)
    count = len(report.leaks)
    if report.failed:
        lines.append(f"Result: FAIL ({count} finding{'s' if count != 1 else ''}; values shown as {REDACTED})")
    else:
        lines.append("Result: PASS (no secret found)")
    return _redact(report, "\n".join(lines) + "\n")


def render_json(report: VerifyReport) -> str:
    doc = {
        "image": report.image,
        "source": report.source,
        "result": FAIL if report.failed else PASS,
        "exit_code": report.exit_code,
        "tests": [{"test": t, "title": r.title, "status": r.status, "notes": r.notes}
                  for t, r in sorted(report.results.items())],
        "leaks": [leak.as_dict() for leak in report.leaks],
    }
    return json.dumps(report.redactor.doc(doc), indent=2, ensure_ascii=False) + "\n"


def _redact(report: VerifyReport, text: str) -> str:
    """Last safety net: no value the scan saw survives into output, whatever built the strings."""
    return report.redactor.text(text)
