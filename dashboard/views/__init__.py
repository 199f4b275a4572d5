"""Dashboard pages; each module exposes ``render() -> None``."""
