"""The complaint portal and its JSON API (FastAPI, Jinja2): a thin layer over store/complaints.py.

:func:`copyright_guard.web.app.create_app` builds the application; ``copyright-guard serve`` runs it.
"""
