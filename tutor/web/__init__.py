"""The tutor in the browser: the full page, the embeddable widget and the API.

    app = create_app(engine)          # tutor.web.app: build (FastAPI + two Gradio apps)
    launch(app, host, port)           # tutor.web.server: serve

`TutorChat` (tutor.web.chat) answers the conversations and is usable without a
server; `WebStore` (tutor.web.store, i.e. tutor.store.Store) keeps them and the
feedback, in SQLite or in PostgreSQL shared by several instances.
"""

from __future__ import annotations


def create_app(*args, **kwargs):
    from tutor.web.app import create_app as build

    return build(*args, **kwargs)


def launch(*args, **kwargs):
    from tutor.web.server import launch as serve

    return serve(*args, **kwargs)
