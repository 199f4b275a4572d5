"""Sections of a page: one that fails on its own (``safe_section``) and one drawn only while it is open
(``lazy_expander``). Shared by the pages (as ``dashboard.components`` names) and by the sidebar's pickers,
which ``components`` imports, so they live below both."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from dashboard import url_sync
from motcua import db as dbmod
from motcua import fmt


def safe_section(render: Callable[[], None], what: str) -> None:
    """Run one section; a failure shows a Vietnamese message instead of breaking the whole page."""
    try:
        render()
    except dbmod.DatabaseUnavailable as exc:
        st.error(fmt.md(exc))
    except ValueError as exc:  # metrics raise ValueError with Vietnamese messages for bad filters
        st.warning(f"Không hiển thị được {what}: {fmt.md(exc)}")


def lazy_expander(label: str, render: Callable[[], None], key: str, url_param: str | None = None) -> None:
    """An expander whose content runs (and is sent to the browser) only while it is open.

    A collapsed ``st.expander`` still builds, sends and mounts everything in it: the index components'
    table and its downloads cost Tổng quan ~0.07 s of server time at every opening of a commune, and the
    sidebar's settings are 12 of the ~70 elements a page sends. Opening it reruns only this fragment;
    ``render`` may rerun the whole app itself (``st.rerun(scope="app")``) when what it changed is wider.

    With ``url_param`` (a page parameter that ``render`` shares, such as the open tab inside it), a shared
    link that carries the parameter opens the section, and closing it takes the parameter out of the URL,
    so a copied link reopens the section as it is.
    """
    st.fragment(_render_lazy_expander)(label, render, key, url_param)


def _render_lazy_expander(label: str, render: Callable[[], None], key: str, url_param: str | None) -> None:
    # The first state is kept for the session: another ``expanded`` on a later run would be a new widget.
    opened_key = f"_{key}_opened_by_link"
    if opened_key not in st.session_state:
        st.session_state[opened_key] = bool(url_param) and url_sync.url_has(url_param)
    box = st.expander(label, expanded=st.session_state[opened_key], key=key, on_change="rerun")
    if box.open:
        with box:
            safe_section(render, label[:1].lower() + label[1:])
    elif url_param:
        url_sync.share(url_param, None)
