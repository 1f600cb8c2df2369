"""Documentation the rule pages point to."""

BUILD_SECRETS = "https://docs.docker.com/build/building/secrets/"
BUILD_CHECK = "https://docs.docker.com/reference/build-checks/secrets-used-in-arg-or-env/"
MOUNT_SECRET = "https://docs.docker.com/reference/dockerfile/#run---mounttypesecret"
BUILDX_SECRET = "https://docs.docker.com/reference/cli/docker/buildx/build/#secret"
COMPOSE_BUILD_SECRETS = "https://docs.docker.com/reference/compose-file/build/#secrets"
COMPOSE_ENV_FILE = "https://docs.docker.com/reference/compose-file/services/#env_file"
ACTIONS_SECRETS = "https://docs.docker.com/build/ci/github-actions/secrets/"
IMAGE_HISTORY = "https://docs.docker.com/reference/cli/docker/image/history/"
#: every page ends with these
COMMON = (BUILD_SECRETS, BUILD_CHECK)
