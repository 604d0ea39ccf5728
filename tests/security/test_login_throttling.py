"""Login throttling (django-axes): guessing a password is cut off after a few tries."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


@pytest.fixture
def staff(settings) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    get_user_model().objects.create_user("alice", password=PASSWORD, is_staff=True)


def _login(client: Client, password: str, username: str = "alice", ip: str = "192.0.2.1"):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_wrong_passwords_up_to_the_limit_get_the_login_form_again(staff: None) -> None:
    client = Client()

    codes = [_login(client, "wrong").status_code for _ in range(2)]

    assert codes == [200, 200]
    assert _login(client, PASSWORD).status_code == 302


def test_after_the_limit_even_the_right_password_is_refused_with_429(staff: None) -> None:
    client = Client()
    for _ in range(3):
        _login(client, "wrong")

    response = _login(client, PASSWORD)

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_lockout_does_not_lock_the_same_user_out_from_another_address(staff: None) -> None:
    for _ in range(3):
        _login(Client(), "wrong", ip="192.0.2.1")

    response = _login(Client(), PASSWORD, ip="198.51.100.20")

    assert response.status_code == 302


def test_a_successful_login_resets_the_count(staff: None) -> None:
    client = Client()
    for _ in range(2):
        _login(client, "wrong")
    assert _login(client, PASSWORD).status_code == 302
    client.logout()

    codes = [_login(client, "wrong").status_code for _ in range(2)]

    assert codes == [200, 200]
    assert _login(client, PASSWORD).status_code == 302


def test_the_lockout_ends_after_the_cool_off(staff: None, settings) -> None:
    from datetime import timedelta

    settings.AXES_COOLOFF_TIME = timedelta(seconds=0)
    client = Client()
    for _ in range(3):
        _login(client, "wrong")

    assert _login(client, PASSWORD).status_code == 302
