"""migrate-secrets verify: archive reading, the three tests, and real images built by buildah.

The buildah tests (design.md section 6) build each fixture image once per module in a private vfs
store; the others run on archives written here with tarfile.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from codemod.verify import parse_env_file, verify_command
from codemod.verify.archive import ImageError, load_image
from codemod.verify.builders import ContainerRunner, run_env_check
from codemod.verify.scan import (
    FAIL,
    NOT_COVERED,
    PASS,
    carries_value,
    redact_assignments,
    render_json,
    render_text,
    verify_image,
)

try:
    from tests import buildah_util
except ImportError:  # run as `pytest` without the repository root on sys.path: pytest adds tests/
    buildah_util = importlib.import_module("buildah_util")

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "verify"
LEAKY_VALUES = {
    "DB_PASSWORD": "hunter2-db-pass-4242",
    "API_TOKEN": "tok-verify-abcdef0123456789",
    "SERVICE_TOKEN": "file-token-0123456789abcdef",
    "npmrc": "npm_verifyFakeNpmToken0123456789",
    "cache": "npm_verifyCacheToken0123456789",
}


def assert_no_values(text: str, values: Any = None) -> None:
    for value in LEAKY_VALUES.values() if values is None else values:
        assert value not in text


def simple_is_secret_name(name: str) -> bool:
    """The analysis' classifier: verify gets it from the app layer, never imports it."""
    from codemod.analysis.names import is_secret_name

    return bool(is_secret_name(name))


def run_verify(capsys: pytest.CaptureFixture[str], **kwargs: Any) -> tuple[int, str, str]:
    if "storage_root" in kwargs:
        kwargs.setdefault("storage_driver", "vfs")  # the private test store (buildah_util) is vfs
    code = verify_command(is_secret_name=simple_is_secret_name, **kwargs)
    captured = capsys.readouterr()
    assert_no_values(captured.out)
    assert_no_values(captured.err)
    return code, captured.out, captured.err


# -- archives written here ------------------------------------------------------------------------

def _tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _config(env: list[str], history: list[str], layers: list[bytes], **extra: Any) -> dict[str, Any]:
    return {
        "architecture": "amd64", "os": "linux",
        "config": {"Env": env, "Cmd": ["sh"], **extra},
        "rootfs": {"type": "layers", "diff_ids": [_sha(t) for t in layers]},
        "history": [{"created_by": h} for h in history],
    }


def write_docker_archive(path: Path, config: dict[str, Any], layers: list[bytes], *,
                         gz: bool = False) -> Path:
    cfg = json.dumps(config).encode()
    members = {f"{_sha(cfg)[7:]}.json": cfg}
    names = []
    for raw in layers:
        blob = gzip.compress(raw) if gz else raw
        name = f"{_sha(raw)[7:]}/layer.tar"
        members[name] = blob
        names.append(name)
    members["manifest.json"] = json.dumps(
        [{"Config": f"{_sha(cfg)[7:]}.json", "RepoTags": ["example/app:1"], "Layers": names}]).encode()
    path.write_bytes(_tar(members))
    return path


def write_oci_layout(root: Path, config: dict[str, Any], layers: list[bytes]) -> Path:
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(data: bytes) -> dict[str, Any]:
        (blobs / _sha(data)[7:]).write_bytes(data)
        return {"digest": _sha(data), "size": len(data)}

    cfg = put(json.dumps(config).encode())
    manifest = {"schemaVersion": 2,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **cfg},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                            **put(gzip.compress(t))} for t in layers]}
    arm = put(json.dumps({**manifest, "layers": []}).encode())
    man = put(json.dumps(manifest).encode())
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", **arm,
         "platform": {"os": "linux", "architecture": "riscv64"}},
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", **man,
         "platform": {"os": "linux", "architecture": "amd64"}}]}
    top = put(json.dumps(index).encode())
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.index.v1+json", **top,
         "annotations": {"org.opencontainers.image.ref.name": "app:1"}}]}))
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return root


BUILDKIT_HISTORY = [
    "ARG NPM_TOKEN=npm_buildkitArgToken0123456789",
    "ARG APP_VERSION=1.2.3",
    "RUN |2 NPM_TOKEN=npm_buildkitArgToken0123456789 APP_VERSION=1.2.3 /bin/sh -c npm ci # buildkit",
    "ENV SESSION_SECRET_FILE=/run/secrets/session DJANGO_SECRET_KEY=${SECRET}",
    "RUN /bin/sh -c export NPM_TOKEN=\"$(cat /run/secrets/npm_token)\" && npm ci # buildkit",
]


SSH_KEY = b"-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"


def _buildkit_image(tmp_path: Path) -> Path:
    layer1 = _tar({"app/.npmrc": b"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n",
                   "app/.env": b"DB_PASSWORD=\nPOSTGRES_PASSWORD=${POSTGRES_PASSWORD}\nAPP_MODE=dev\n",
                   "app/main.py": b"import os\npassword = os.environ['DB_PASSWORD']\n",
                   "app/notes.txt": b"mode=postgres short=pw12345 stripe=sk_live_verify0123456789\n"})
    layer2 = _tar({"root/.npmrc": b"//registry.npmjs.org/:_authToken=npm_literalToken0123456789\n",
                   "root/.ssh/id_rsa": SSH_KEY,
                   "app/.env.example": b"DB_PASSWORD=changeme-example-value\n",
                   "big.bin": b"\0" * (10 * 1024 * 1024 + 1)})
    config = _config(["PATH=/bin", "API_KEY=$API_KEY", "EMPTY_TOKEN=", "LOG_LEVEL=info"],
                     BUILDKIT_HISTORY, [layer1, layer2],
                     Labels={"org.example.auth-token": "lbl-secret-0123456789"})
    return write_docker_archive(tmp_path / "bk.tar", config, [layer1, layer2], gz=True)


def test_docker_archive_with_gzip_layers_and_legacy_paths(tmp_path: Path) -> None:
    img = load_image(_buildkit_image(tmp_path))
    assert img.format == "docker-archive" and img.ref == "example/app:1"
    assert [layer.diff_id for layer in img.layers] == img.raw_config["rootfs"]["diff_ids"]
    files = dict(img.layers[1].files())
    assert files["/big.bin"] is None  # over 10 MiB: name only
    assert (files["/root/.npmrc"] or b"").startswith(b"//registry")


def test_oci_layout_with_nested_index_picks_the_platform(tmp_path: Path) -> None:
    layer = _tar({"etc/app.conf": b"token=oci-layout-token-0123456789\n"})
    config = _config(["PATH=/bin"], ["RUN /bin/sh -c true"], [layer])
    root = write_oci_layout(tmp_path / "oci", config, [layer])
    img = load_image(root)
    assert (img.format, img.ref, img.transport) == ("oci-layout", "app:1", f"oci:{root}")
    assert [p for p, _ in img.layers[0].files()] == ["/etc/app.conf"]
    report = verify_image(img, known_values={"APP_TOKEN": "oci-layout-token-0123456789"},
                          is_secret_name=simple_is_secret_name, runner=None)
    assert report.status("3") == FAIL and "/etc/app.conf" in report.leaks[0].where
    with tarfile.open(tmp_path / "oci.tar", "w") as tf:
        tf.add(root, arcname=".")
    assert load_image(tmp_path / "oci.tar").format == "oci-archive"


def test_not_an_image(tmp_path: Path) -> None:
    (tmp_path / "x.tar").write_bytes(_tar({"hello.txt": b"hi"}))
    with pytest.raises(ImageError, match="neither a docker-archive"):
        load_image(tmp_path / "x.tar")
    with pytest.raises(ImageError):
        load_image(tmp_path / "missing.tar")


def test_buildkit_history_config_and_credential_files(tmp_path: Path) -> None:
    img = load_image(_buildkit_image(tmp_path))
    report = verify_image(img, known_values={"STRIPE_SECRET_KEY": "sk_live_verify0123456789",
                                             "PG_PASSWORD": "postgres", "SHORT_PASSWORD": "pw12345"},
                          settings=["postgres"], is_secret_name=simple_is_secret_name, runner=None)
    found = {(lk.test, lk.variable, lk.where.split(" ")[0] if lk.test == "1" else lk.where.rsplit(" ", 1)[-1])
             for lk in report.leaks}
    assert found == {
        ("1", "NPM_TOKEN", "history[0]"),                  # BuildKit's ARG NAME=value
        ("1", "NPM_TOKEN", "history[2]"),                  # RUN |2 NAME=value prefix
        ("1", "auth-token", "config"),                     # a secret-named label
        ("3", "STRIPE_SECRET_KEY", "/app/notes.txt"),      # a known value in a file
        ("3", "_authToken", "/root/.npmrc"),               # literal npm token
        ("3", "id_rsa", "/root/.ssh/id_rsa"),
    }
    # not leaks: $REF and empty values, settings, names alone, ${NPM_TOKEN} .npmrc, .env.example,
    # a value equal to a setting ("postgres") and one under 8 characters
    assert report.status("1") == FAIL and report.status("2") == NOT_COVERED and report.exit_code == 2
    assert "history[2] RUN |2 NPM_TOKEN=*** APP_VERSION=1.2.3 /bin/sh -c npm ci" in render_text(report)
    for text in (render_text(report), render_json(report)):
        assert_no_values(text, ["npm_buildkitArgToken0123456789", "lbl-secret-0123456789",
                                "sk_live_verify0123456789", "npm_literalToken0123456789"])


def test_values_rules() -> None:
    assert not carries_value("") and not carries_value('""') and not carries_value("${X}")
    assert not carries_value("$(cat /run/secrets/x)") and not carries_value("null")
    assert carries_value("changeme")
    assert redact_assignments("STEP 2: ARG DB_PASSWORD=abc APP=1", simple_is_secret_name) == \
        "STEP 2: ARG DB_PASSWORD=*** APP=1"
    assert simple_is_secret_name("PGPASSWORD") and not simple_is_secret_name("DB_PASSWORD_FILE")


def test_env_file_and_argument_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = tmp_path / "x.env"
    env.write_text("# c\nexport A=1\nB='two words'\nC=3 # note\nbad line\n")
    assert parse_env_file(env) == {"A": "1", "B": "two words", "C": "3"}
    assert verify_command(is_secret_name=simple_is_secret_name) == 2
    assert verify_command(is_secret_name=simple_is_secret_name, image="a", image_archive=tmp_path) == 2
    assert verify_command(is_secret_name=simple_is_secret_name, image_archive=tmp_path / "nope.tar") == 2
    assert "exactly one of" in capsys.readouterr().err


class FakeRunner:
    name = "fake run"

    def __init__(self, seen: dict[str, bool] | None) -> None:
        self.seen = seen

    def check_env(self, names: Any) -> dict[str, bool] | None:
        return self.seen


def test_runtime_test_statuses(tmp_path: Path) -> None:
    img = load_image(write_docker_archive(tmp_path / "a.tar", _config([], [], []), []))
    kw: dict[str, Any] = {"known_values": {"DB_PASSWORD": "runtime-value-0123"},
                          "is_secret_name": simple_is_secret_name}
    assert verify_image(img, runner=FakeRunner({"DB_PASSWORD": True}), **kw).status("2") == PASS
    failed = verify_image(img, runner=FakeRunner({"DB_PASSWORD": False}), **kw)
    assert failed.status("2") == FAIL and failed.exit_code == 2 and failed.leaks[0].variable == "DB_PASSWORD"
    assert verify_image(img, runner=FakeRunner(None), **kw).status("2") == NOT_COVERED
    assert verify_image(img, runner=None, **kw).exit_code == 0


# -- real images built by buildah -----------------------------------------------------------------

@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> buildah_util.BuildahStore:
    return buildah_util.session_store(tmp_path_factory)


@pytest.fixture(scope="module")
def leaky(store: buildah_util.BuildahStore, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("leaky")
    ref = store.build(FIXTURES / "leaky" / "Containerfile", "localhost/verify-leaky:latest")
    return {t: store.push(ref, t, out / name) for t, name in
            (("docker-archive", "leaky.tar"), ("oci-archive", "leaky-oci.tar"), ("oci", "layout"))}


@pytest.fixture(scope="module")
def clean(store: buildah_util.BuildahStore, tmp_path_factory: pytest.TempPathFactory) -> Path:
    ref = store.build(FIXTURES / "clean" / "Containerfile", "localhost/verify-clean:latest")
    return store.push(ref, "docker-archive", tmp_path_factory.mktemp("clean") / "clean.tar")



@pytest.mark.buildah
def test_leaky_docker_archive_fails_naming_every_place(
        leaky: dict[str, Path], store: buildah_util.BuildahStore, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_verify(capsys, image_archive=leaky["docker-archive"],
                              values_from=FIXTURES / "leaky" / "values.env", storage_root=store.path)
    assert code == 2
    assert "Test 1 (history and config): FAIL" in out and "Test 3 (layers and build cache): FAIL" in out
    assert "config Env API_TOKEN" in out
    # the base image's two steps come first
    assert "history[3] ENV API_TOKEN=*** APP_MODE=production: ENV API_TOKEN=*** recorded" in out
    assert "history[4] RUN |1 DB_PASSWORD=*** /bin/sh -c mkdir -p /app" in out
    assert "history[6] RUN |1 DB_PASSWORD=*** /bin/sh -c mkdir -p /root" in out
    for path in ("/app/db.conf", "/app/token.txt", "/root/.npmrc"):
        assert f" {path}: " in out
    assert "Test 2 (runtime environment): PASS" in out  # buildah from + run, variables given at runtime


@pytest.mark.buildah
def test_leaky_oci_archive_and_layout_report_the_same_leaks(
        leaky: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    reports = {}
    for kind in ("docker-archive", "oci-archive", "oci"):
        code, out, _ = run_verify(capsys, image_archive=leaky[kind], output_format="json",
                                  values_from=FIXTURES / "leaky" / "values.env", run_container=False)
        assert code == 2
        doc = json.loads(out)
        assert doc["result"] == FAIL and doc["exit_code"] == 2
        assert {t["test"]: t["status"] for t in doc["tests"]} == {"1": FAIL, "2": NOT_COVERED, "3": FAIL}
        reports[kind] = {(lk["test"], lk["variable"], lk["where"]) for lk in doc["leaks"]}
    assert reports["docker-archive"] == reports["oci-archive"] == reports["oci"]  # layers named by diff_id
    variables = {(test, var) for test, var, _ in reports["oci-archive"]}
    assert {("1", "DB_PASSWORD"), ("1", "API_TOKEN"), ("3", "DB_PASSWORD"), ("3", "SERVICE_TOKEN"),
            ("3", "_authToken")} <= variables


@pytest.mark.buildah
def test_leaky_without_values_still_finds_what_history_shows(
        leaky: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_verify(capsys, image_archive=leaky["oci-archive"], run_container=False)
    assert code == 2
    assert "/app/db.conf: file holds the value of DB_PASSWORD" in out  # the ARG default, found in history
    assert "/app/token.txt" not in out  # only a known value (--values-from) reveals that one


@pytest.mark.buildah
def test_clean_image_passes(clean: Path, store: buildah_util.BuildahStore,
                            capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_verify(capsys, image_archive=clean, values_from=FIXTURES / "leaky" / "values.env",
                              storage_root=store.path)
    assert code == 0, out
    assert "Test 1 (history and config): PASS" in out
    assert "Test 2 (runtime environment): PASS" in out
    assert "Test 3 (layers and build cache): PASS" in out
    assert "Result: PASS" in out


@pytest.mark.buildah
def test_buildah_runner_says_which_variables_are_set(clean: Path, store: buildah_util.BuildahStore,
                                                     tmp_path: Path) -> None:
    env = tmp_path / "run.env"
    env.write_text("DB_PASSWORD=dummy-value\n")
    seen = run_env_check(f"docker-archive:{clean}", ["DB_PASSWORD", "API_TOKEN", "APP_MODE"], env,
                         builder="buildah", storage_root=store.path, storage_driver="vfs")
    assert seen == {"DB_PASSWORD": True, "API_TOKEN": False, "APP_MODE": True}
    runner = ContainerRunner("buildah", f"docker-archive:{clean}", store.path, "vfs")
    assert runner.check_env(["SERVICE_TOKEN"]) == {"SERVICE_TOKEN": True}


@pytest.mark.buildah
def test_build_with_buildah_and_a_secret_mount_passes(
        store: buildah_util.BuildahStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    token = tmp_path / "npm_token"
    token.write_text("npm_verifyMountedSecret0123456789\n")
    code, out, err = run_verify(capsys, build=FIXTURES / "migrated" / "Containerfile", builder="buildah",
                                secrets=[f"id=npm_token,src={token}"], runtime_vars=["NPM_CONFIG_CACHE"],
                                storage_root=store.path, output_format="json")
    assert code == 0, out + err
    doc = json.loads(out)
    assert [t["status"] for t in doc["tests"]] == [PASS, PASS, PASS]
    assert any(n.startswith("build cache: ") and "scanned" in n for n in doc["tests"][2]["notes"])
    assert "npm_verifyMountedSecret0123456789" not in out + err


@pytest.mark.buildah
def test_build_cache_leak_is_found_though_the_final_image_is_clean(
        store: buildah_util.BuildahStore, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_verify(capsys, build=FIXTURES / "cache-leak" / "Containerfile", builder="buildah",
                                storage_root=store.path, run_container=False)
    assert code == 2, out + err
    assert "Test 1 (history and config): PASS" in out
    assert "Test 3 (layers and build cache): FAIL" in out
    assert "build cache image " in out and "/root/.npmrc" in out and "NPM_TOKEN" in out
