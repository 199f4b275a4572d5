"""Opening the default page by its own name: ``/tong-quan?…`` shows Tổng quan, not "Page not found".

Streamlit 1.67 serves the default page only at the app root. ``st.navigation`` resolves the page named in
the address (``/tong-quan`` → ``"tong-quan"``, also under a base path such as ``/kpi/tong-quan``) against
each page's ``url_path``, which is ``""`` for the default page, finds nothing and sends "Page not found"
(``streamlit/runtime/pages_manager.py``, ``_resolve_page_script``). People still write and bookmark the
page's name, so a request for it is turned into a request for the root before the navigation resolves it:
the same page, the URL's query parameters (the shared view) untouched, and the address bar shows ``/?…``.
"""

from __future__ import annotations

from streamlit.runtime.scriptrunner import get_script_run_ctx


def open_default_page_by_name(url_path: str) -> bool:
    """Before ``st.navigation``: if this run asks for the default page by ``url_path``, ask for the root
    instead. Returns whether it did. A run that names its page by hash (a click in the app) is left alone."""
    ctx = get_script_run_ctx()
    manager = getattr(ctx, "pages_manager", None)
    if manager is None or manager.intended_page_script_hash or manager.intended_page_name != url_path:
        return False
    manager.set_script_intent("", "")
    return True
