"""Literal credentials in commands (issue 15): RUN, CMD, ENTRYPOINT and HEALTHCHECK text, values redacted."""

from __future__ import annotations

import pytest

from codemod.analysis.values import command_credentials
from codemod.config import Config
from codemod.fix.loop import migrate
from codemod.rules import trigger_pattern

POSITIVE = [
    # (command text, expected (assigned name or None, description) pairs, the literal)
    ('export DB_PASS="mysecretpassword" && ./migrate', [("DB_PASS", "DB_PASS= assigned a literal")],
     "mysecretpassword"),
    ("set -e; export APP_ENV=prod DB_PASSWORD=hunter2x; ./run", [("DB_PASSWORD", "DB_PASSWORD= assigned a literal")],
     "hunter2x"),
    ("PGPASSWORD=postgres psql -h db -U app -f schema.sql", [("PGPASSWORD", "PGPASSWORD= assigned a literal")],
     "postgres"),
    ("if [ -n x ]; then API_TOKEN=abcdef1234567 ./sync; fi", [("API_TOKEN", "API_TOKEN= assigned a literal")],
     "abcdef1234567"),
    ("docker run -e POSTGRES_PASSWORD=example -d postgres",
     [("POSTGRES_PASSWORD", "POSTGRES_PASSWORD= assigned a literal")], "example"),
    ("gpg --batch --passphrase 1234 --import /tmp/signing.asc", [(None, "a password flag")], "1234"),
    ("redis-server --requirepass s3cr3tPass --appendonly yes", [(None, "a password flag")], "s3cr3tPass"),
    ("sentry-cli --auth-token 0f1e2d3c4b5a69788796a5b4c3d2e1f0 releases new v1", [(None, "a password flag")],
     "0f1e2d3c4b5a69788796a5b4c3d2e1f0"),
    ("mysqld --user=mysql & sleep 5 && mysql -uroot -proot123 -e 'select 1'", [(None, "a mysql -p password")],
     "root123"),
    ("mysqldump -u backup -p'Bk p4ss' app > /tmp/app.sql", [(None, "a mysql -p password")], "Bk p4ss"),
    ("docker login -u ci -p Lit3ralPass registry.example.com", [(None, "a docker login -p password")], "Lit3ralPass"),
    ("curl -fsSL -u deploy:D3pl0yPass https://nexus.example.com/repo/x.tgz -o x.tgz",
     [(None, "a user:password argument")], "D3pl0yPass"),
    ('echo "root:Docker!" | chpasswd', [(None, "a chpasswd user:password")], "Docker!"),
    ("htpasswd -bc /etc/nginx/.htpasswd admin Adm1nPw", [(None, "an htpasswd -b password")], "Adm1nPw"),
    ('echo "//npm.pkg.github.com/:_authToken=0123abcd4567efab89cd" >> .npmrc', [(None, "an npmrc auth value")],
     "0123abcd4567efab89cd"),
    ("mysql -e \"CREATE USER 'app'@'%' IDENTIFIED BY 'apppass'\"", [(None, "SQL IDENTIFIED BY password")], "apppass"),
    ("psql -c \"ALTER USER postgres WITH PASSWORD 'Adm1nPass'\"", [(None, "SQL PASSWORD literal")], "Adm1nPass"),
    ("java -Dspring.datasource.password=hunter2 -jar app.jar", [(None, "a property or option")], "hunter2"),
    ("keytool -importkeystore -srckeystore a.p12 -deststorepass Sup3rStore",
     [(None, "a keystore or key password flag")], "Sup3rStore"),
    ("openssl pkcs12 -export -in c.pem -passout pass:Expo4t -out c.p12",
     [(None, "an openssl pass: argument")], "Expo4t"),
    ("sshpass -p Sup3r scp build.tgz deploy@host:/srv", [(None, "an sshpass -p password")], "Sup3r"),
    ("redis-cli -h cache -a R3disPw ping", [(None, "a redis-cli -a password")], "R3disPw"),
    ("mongosh --host db -u admin -p M0ngoPw --eval 'db.x()'", [(None, "a mongo -p password")], "M0ngoPw"),
]

NEGATIVE = [
    "docker run -p 8080:80 nginx",
    "mkdir -p /app && cp -p a b && ssh -p 2222 deploy@host true",
    "echo $VERSION",
    "gpg --batch --passphrase-file /run/secrets/gpg_pass --import k.asc",
    "gpg --batch --passphrase-fd 0 --import k.asc < /run/secrets/gpg_pass",
    "docker login -u ci --password-stdin registry.example.com < /run/secrets/reg",
    'docker login -u ci -p "$REGISTRY_PASSWORD" registry.example.com',
    'mysql -p"$MYSQL_ROOT_PASSWORD" -e "select 1"',
    "mysql -p$(cat /run/secrets/db) app",
    "mysql -u root -p app",  # -p then a database name: the password is prompted for
    'curl -fsSL -u "$NEXUS_USER:$NEXUS_PASSWORD" https://nexus/x',
    "docker run -u 1000:1000 img && chown 1000:1000 /data",
    'echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > .npmrc',
    'git config --global url."https://${GH_TOKEN}:x-oauth-basic@github.com/".insteadOf "https://github.com/"',
    "postgres -c password_encryption=scram-sha-256",
    "DJANGO_SECRET_KEY=placeholder python manage.py collectstatic --noinput",  # MS003's own inline placeholder
    "SECRET_KEY_BASE=1 bundle exec rake assets:precompile",
    "SECRET_KEY_BASE_DUMMY=1 ./bin/rails assets:precompile",
    "RUN_TOKEN_TTL=3600 ./x",
    "ARG TOKEN=abc123def456",  # an argument of a command, not an assignment (a heredoc line that looks like ARG)
    "gunicorn -p /tmp/app.pid app:app",
    "export PASSWORD_FILE=/run/secrets/db_password",
    "curl https://api.example.org/v1/items?page=2&token=abcdef123456",  # a query token: the URL rule's
    "--mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci",
]


@pytest.mark.parametrize(("text", "expected", "literal"), POSITIVE)
def test_literal_credentials_in_commands(text: str, expected: list[tuple[str | None, str]], literal: str) -> None:
    found = command_credentials(text)
    assert [(name, what) for name, what, _ in found] == expected
    assert [value for _, _, value in found] == [literal]
    for _, what, _ in found:
        assert literal not in what


@pytest.mark.parametrize("text", NEGATIVE)
def test_references_ports_and_files_are_not_literal_credentials(text: str) -> None:
    assert command_credentials(text) == []


@pytest.mark.parametrize(("text", "expected", "literal"), POSITIVE)
def test_every_positive_passes_the_pre_analysis_filter(text: str, expected: object, literal: str) -> None:
    """The fix loop skips a file none of the rules' trigger words match (MS010 declares the command words)."""
    assert trigger_pattern().search(f"FROM debian\nRUN {text}\n".encode().lower())


@pytest.mark.parametrize("text", ["FROM debian\nARG JWT\n", "FROM debian\nARG GH_PAT\n",
                                  "FROM debian\nENV DB_PW=x\n", "FROM ruby\nARG BUNDLE_GEMS__CONTRIBSYS__COM\n"])
def test_new_names_pass_the_pre_analysis_filter(text: str) -> None:
    assert trigger_pattern().search(text.encode().lower())


def test_findings_carry_names_and_spans_never_values() -> None:
    data = (b"FROM alpine\n"
            b"RUN export DB_PASS=mysecretpassword \\\n    && gpg --batch --passphrase 4321 --import k.asc\n"
            b'CMD ["redis-server", "--requirepass", "s3cr3tPass"]\n')
    result = migrate(data, "Dockerfile", Config())
    got = [(h.finding.line, h.finding.variable, h.finding.rule, h.finding.fixable) for h in result.hits]
    assert got == [(2, "DB_PASS", "MS010", False), (2, "RUN", "MS010", False), (4, "CMD", "MS010", False)]
    redacted = sorted(data[a:b] for h in result.hits for a, b in h.redact)
    assert redacted == [b"4321", b"mysecretpassword", b"s3cr3tPass"]
    for h in result.hits:
        for secret in (b"4321", b"mysecretpassword", b"s3cr3tPass"):
            assert secret.decode() not in h.finding.message
    assert result.new is None  # reported, never rewritten
