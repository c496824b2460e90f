import pytest

from skill.app import create_app


@pytest.fixture
def db_path(tmp_path):
    return str(tmp_path / "state.sqlite3")


@pytest.fixture
def app(db_path):
    return create_app({"TESTING": True, "VERIFY_REQUESTS": False, "DB_PATH": db_path})


@pytest.fixture
def client(app):
    return app.test_client()
