"""migrate-secrets: take secrets out of Docker builds."""

__version__ = "0.1.0"
