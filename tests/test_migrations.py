"""The host's own migrations pick up our tables."""

from __future__ import annotations

import pytest
from conftest import make_host_app
from flask_migrate import Migrate, init, migrate


# Flask-Migrate's generated env.py still calls a deprecated Flask-SQLAlchemy API.
@pytest.mark.filterwarnings("ignore:'get_engine' is deprecated")
def test_flask_migrate_autogenerates_our_tables(tmp_path):
    app, db, _ = make_host_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'empty.sqlite3'}"}
    )
    Migrate(app, db, directory=str(tmp_path / "migrations"))

    with app.app_context():
        db.drop_all()
        init(directory=str(tmp_path / "migrations"))
        migrate(directory=str(tmp_path / "migrations"), message="shop")

    (script,) = (tmp_path / "migrations" / "versions").glob("*.py")
    text = script.read_text()

    for table in ("abandon_contact", "abandon_journey", "abandon_event",
                  "abandon_reminder", "abandon_product_view"):
        assert f"op.create_table('{table}'" in text
