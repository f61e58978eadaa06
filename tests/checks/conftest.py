"""The workspace's fixtures (an app with the boxes catalog, one order, a user per role) for the diff page tests."""

from tests.admin.conftest import admin_template, app, db_url, editor, login

__all__ = ["admin_template", "app", "db_url", "editor", "login"]
