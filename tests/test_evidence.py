"""Evidence from use (issue 15): a variable of any name is a credential when its consumers treat it as one."""

from __future__ import annotations

import pytest

from codemod.analysis.evidence import Evidence, evidence, evidence_in, references

STRONG = [
    # key and credential files
    ('mkdir -p /root/.ssh && echo "${ID_RSA}" > /root/.ssh/id_rsa && chmod 600 /root/.ssh/id_rsa', "ID_RSA",
     "written to an SSH private key (~/.ssh/id_*)"),
    ("echo $DEPLOY_B64 | base64 -d > ~/.ssh/id_ed25519", "DEPLOY_B64", "written to an SSH private key (~/.ssh/id_*)"),
    ('printf "%s" "$GH_DEPLOY" | tee -a $HOME/.ssh/id_ecdsa > /dev/null', "GH_DEPLOY",
     "written to an SSH private key (~/.ssh/id_*)"),
    ('echo "$TLS" > /etc/ssl/private/app.pem', "TLS", "written to a key file (*.pem, *.key)"),
    ('echo "$GCP_SA" | base64 -d > /app/gcp-key.json', "GCP_SA", "written to a credentials file (*key*.json)"),
    ('printf "%s" "$NETRC" > /root/.netrc', "NETRC", "written to .netrc"),
    ('echo "$NPMRC" > /app/.npmrc', "NPMRC", "written to .npmrc"),
    ('echo "$GIT_CREDS" > ~/.git-credentials', "GIT_CREDS", "written to .git-credentials"),
    ('echo "$DOCKER_CFG" > /root/.docker/config.json', "DOCKER_CFG", "written to the docker config (auths)"),
    ('echo "machine github.com login ci password $GH_PASS" > ~/.netrc', "GH_PASS", "a .netrc password"),
    ("cat > ~/.pypirc <<EOF\n[pypi]\nusername = __token__\npassword = ${PYPI_UPLOAD}\nEOF\n", "PYPI_UPLOAD",
     "a password line of a config file"),
    ('echo "$SSH_KEY" | ssh-add -', "SSH_KEY", "loaded into ssh-agent (ssh-add)"),
    # .npmrc auth lines and tools that store a credential
    ('echo "//registry.npmjs.org/:_authToken=${NPM_AUTH}" > .npmrc && npm ci', "NPM_AUTH",
     "an .npmrc auth line (_authToken=)"),
    ('echo "//nexus.example.com/repository/npm/:_auth=$NEXUS_B64" >> .npmrc', "NEXUS_B64",
     "an .npmrc auth line (_authToken=)"),
    ("npm config set //npm.pkg.github.com/:_authToken $GHP", "GHP", "an .npmrc auth line (_authToken=)"),
    ("yarn config set npmAuthToken $YARN_REG", "YARN_REG", "stored by npm config set ...:_authToken"),
    ("aws configure set aws_secret_access_key $AWS_S", "AWS_S", "stored by aws configure set"),
    ("bundle config https://gems.contribsys.com/ $bundle_gems__contribsys__com && bundle install",
     "bundle_gems__contribsys__com", "stored by bundle config (a gem source credential)"),
    ("composer config --global http-basic.repo.example.com ci $COMPOSER_PW", "COMPOSER_PW",
     "stored by composer config (auth)"),
    ("poetry config http-basic.internal ci $POETRY_PW", "POETRY_PW", "stored by poetry config (auth)"),
    # headers
    ('curl -fsSL -H "Authorization: Bearer $GL" https://gitlab.example.com/api/v4/x', "GL",
     "sent in an Authorization header"),
    ('curl -H "Authorization: token ${GITHUB_OAUTH}" https://api.github.com/x', "GITHUB_OAUTH",
     "sent in an Authorization header"),
    ("curl --header \"PRIVATE-TOKEN: ${GL_API}\" https://gitlab/x", "GL_API", "sent in an Authorization header"),
    ('wget --header="X-JFrog-Art-Api: $ART" https://art/x', "ART", "sent in an Authorization header"),
    # URLs
    ("git clone https://oauth2:${GIT_ACCESS}@gitlab.com/acme/lib.git", "GIT_ACCESS",
     "the password of a URL (://user:...@)"),
    ("psql postgres://${DB_USER}:${DB_PW}@db/app -c 'select 1'", "DB_PW", "the password of a URL (://user:...@)"),
    ("go mod download && git clone https://${GH_RO}@github.com/acme/x", "GH_RO",
     "the user of a URL (a token as user: ://...@)"),
    ('git config --global url."https://${GHT}:x-oauth-basic@github.com/".insteadOf "https://github.com/"', "GHT",
     "the user of a URL (a token as user: ://...@)"),
    ("git config --global url.${GIT_BASE}.insteadOf https://github.com/", "GIT_BASE",
     "the base of a git insteadOf URL"),
    # flags
    ('gpg --batch --passphrase "$GPG_P" --import /tmp/k.asc', "GPG_P", "passed as --passphrase"),
    ("huggingface-cli login --token $HF", "HF", "passed as --token"),
    ("redis-server --requirepass ${REDIS_PW}", "REDIS_PW", "passed as --requirepass"),
    ("keytool -import -alias ca -file ca.crt -storepass $KS -noprompt", "KS", "passed as -storepass"),
    ("openssl pkcs12 -export -in c.pem -passout pass:${P12} -out c.p12", "P12", "passed as an openssl pass:"),
    ("java -Dspring.datasource.password=${DBP} -jar app.jar", "DBP", "passed as a password property"),
    ('mysql -uroot -p"$ROOT_PW" -e "select 1"', "ROOT_PW", "passed as mysql -p"),
    ("mysqladmin -uroot -p${ROOT_PW} ping", "ROOT_PW", "passed as mysql -p"),
    ("sshpass -p $DEPLOY_PW scp a.tgz deploy@h:/srv", "DEPLOY_PW", "passed as sshpass -p"),
    ("redis-cli -h cache -a $R ping", "R", "passed as redis-cli -a"),
    ("mongosh --host db -u admin -p $M --eval 1", "M", "passed as mongo -p"),
    ("docker login -u ci -p $REG ghcr.io", "REG", "passed as docker login -p"),
    ("curl -fsSL -u ci:$NEXUS https://nexus.example.com/x.tgz -o x.tgz", "NEXUS", "passed as curl -u user:password"),
    ('curl -u "$NEXUS_USER:$NEXUS_PW" https://nexus/x', "NEXUS_PW", "passed as curl -u user:password"),
    ("curl --user $CREDS https://nexus/x", "CREDS", "passed as curl -u user:password"),
    # logins
    ("echo $REG_PW | docker login -u ci --password-stdin ghcr.io", "REG_PW", "passed to docker login"),
    ("echo ${GH_T} | gh auth login --with-token", "GH_T", "passed to gh auth login"),
    ("echo $P | podman login --username ci --password-stdin quay.io", "P", "passed to podman login"),
]

WEAK = [
    ("pip install --extra-index-url ${AUTHED_ARTIFACT_REG_URL} -r /requirements.txt", "AUTHED_ARTIFACT_REG_URL",
     "used as a package index URL (--index-url)"),
    ("pip install --index-url=$PRIVATE_PYPI app", "PRIVATE_PYPI", "used as a package index URL (--index-url)"),
    ("pip3 install -i $ARTIFACTORY -r requirements.txt", "ARTIFACTORY", "used as a package index URL (pip -i)"),
    ("PIP_EXTRA_INDEX_URL=$IDX pip install -r requirements.txt", "IDX", "used as a package index URL (PIP_INDEX_URL)"),
    ("uv pip install --index-url $UV_IDX .", "UV_IDX", "used as a package index URL (--index-url)"),
]

NONE = [
    ("docker run -p 8080:80 $IMAGE", "IMAGE"),
    ("docker run -p $PORT:80 img", "PORT"),
    ("echo $VERSION", "VERSION"),
    ("echo Building $VERSION > /etc/version", "VERSION"),
    ("gpg --batch --passphrase-file /run/secrets/gpg --import $KEYFILE", "KEYFILE"),
    ("ssh -p $SSH_PORT deploy@host true", "SSH_PORT"),
    ('echo "$KNOWN_HOSTS" >> ~/.ssh/known_hosts', "KNOWN_HOSTS"),
    ('echo "$PUB" > ~/.ssh/id_rsa.pub', "PUB"),
    ('echo "registry=$REGISTRY_URL" > .npmrc', "REGISTRY_URL"),
    ('echo "machine github.com login $GUSER password $GPASS" > ~/.netrc', "GUSER"),
    ("psql postgres://${DB_USER}:${DB_PW}@db/app", "DB_USER"),
    ("git clone https://github.com/$REPO.git /src", "REPO"),
    ("git clone --branch $BRANCH https://github.com/acme/x", "BRANCH"),
    ("bundle config set --local without $BUNDLE_WITHOUT", "BUNDLE_WITHOUT"),
    ("docker run -u $UID img", "UID"),
    ("mkdir -p $APP_DIR && cp -p a $APP_DIR", "APP_DIR"),
    ("docker login -u $REG_USER -p $REG_PW ghcr.io", "REG_USER"),
    ("echo $REG_PW | docker login -u $REG_USER --password-stdin ghcr.io", "REG_USER"),
    ("ssh-add $KEY_PATH", "KEY_PATH"),
    ("pip install --index-url https://pypi.org/simple $PKG", "PKG"),
    ("curl -o $OUT https://example.org/x", "OUT"),
    ("curl -H \"Accept: $ACCEPT\" https://x", "ACCEPT"),
    ("npm config set registry $NPM_REGISTRY", "NPM_REGISTRY"),
    ("echo $TOKENX", "TOKEN"),  # another variable
    ("echo '$TOKEN' > /dev/null", "NOPE"),
]


@pytest.mark.parametrize(("text", "name", "reason"), STRONG)
def test_strong_evidence(text: str, name: str, reason: str) -> None:
    found = evidence_in(text, name)
    assert Evidence(reason, True) in found, found
    assert evidence([text], name) == found[0] and found[0].strong


@pytest.mark.parametrize(("text", "name", "reason"), WEAK)
def test_weak_evidence(text: str, name: str, reason: str) -> None:
    assert evidence_in(text, name) == [Evidence(reason, False)]


@pytest.mark.parametrize(("text", "name"), NONE)
def test_no_evidence(text: str, name: str) -> None:
    assert evidence_in(text, name) == []
    assert evidence([text], name) is None


def test_strong_evidence_anywhere_in_scope_wins_over_weak() -> None:
    texts = ["pip install --index-url $IDX app", "curl -H \"Authorization: Bearer $IDX\" https://x"]
    assert evidence(texts, "IDX") == Evidence("sent in an Authorization header", True)
    assert evidence(texts[:1], "IDX") == Evidence("used as a package index URL (--index-url)", False)
    assert evidence([], "IDX") is None


def test_continuations_and_heredoc_bodies() -> None:
    text = "set -eux; \\\n    mkdir -p /root/.ssh \\\n    && echo \"$K\" \\\n       > /root/.ssh/id_rsa\n"
    assert evidence([text], "K") == Evidence("written to an SSH private key (~/.ssh/id_*)")
    heredoc = "RUN <<EOF\nset -e\necho \"${K2}\" | base64 -d > /root/.ssh/id_rsa\nEOF\n"
    assert evidence([heredoc], "K2") == Evidence("written to an SSH private key (~/.ssh/id_*)")


def test_reasons_never_carry_the_text_around_the_reference() -> None:
    secret_host = "s3cr3t-internal-host"
    text = f"curl -u ci:$NEXUS https://{secret_host}/x && echo $NEXUS > /root/.ssh/id_rsa"
    for e in evidence_in(text, "NEXUS"):
        assert secret_host not in e.reason and "NEXUS" not in e.reason


def test_references() -> None:
    ref = references("TOKEN")
    assert [m.group() for m in ref.finditer("$TOKEN ${TOKEN} ${TOKEN:-x} $TOKENS ${TOKENS} $TOKEN_2 x$TOKEN.")] == [
        "$TOKEN", "${TOKEN}", "${TOKEN:-x}", "$TOKEN"]


@pytest.mark.parametrize(("text", "name", "reason"), STRONG + WEAK)
def test_every_use_has_a_trigger_word_to_declare(text: str, name: str, reason: str) -> None:
    """A rule that asks evidence() must declare EVIDENCE_WORDS, or the fix loop skips files like these."""
    import re

    from codemod.analysis.evidence import EVIDENCE_WORDS

    assert re.search("|".join(EVIDENCE_WORDS), f"FROM debian\nARG {name}\nRUN {text}\n".lower())
