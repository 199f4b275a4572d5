"""The `motcua` command line (entry point ``cli.main:main``)."""
