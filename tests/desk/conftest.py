import pytest

from supportdesk.desk.demo_data import demo_seed


@pytest.fixture
def organization(transactional_db):
    return demo_seed()
