"""Where the platform keeps its files, and the values it reads from the environment (DESIGN §5)."""

import os
import secrets
from pathlib import Path


def data_dir() -> Path:
    path = Path(os.environ.get("MAKERCLOUD_DATA_DIR", "var")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def secret_key(directory: Path) -> str:
    """The secret key from the environment, or the one generated into the data dir on first run."""
    if key := os.environ.get("MAKERCLOUD_SECRET_KEY"):
        return key
    path = directory / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


def mqtt_url() -> str | None:
    """An external broker's URL; None means the embedded broker."""
    return os.environ.get("MAKERCLOUD_MQTT_URL") or None


def jobs_url(directory: Path) -> str:
    return os.environ.get("MAKERCLOUD_JOBS_URL") or f"sqlite:///{directory / 'jobs.sqlite3'}"
