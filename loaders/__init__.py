"""Ingest of one-stop-shop dossier exports into DuckDB (plain Python, no Streamlit)."""
