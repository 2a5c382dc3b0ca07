"""The embedded mode's SQLite backend: the writers of one process queue on a lock that the holder
hands over at commit, rollback or close (embedded mode only: PostgreSQL queues writers itself)."""

import threading

import pytest
from django.db import connection, connections, transaction

from supportdesk.desk.models import Organization
from supportdesk.sqlite.base import writer_lock

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="the embedded mode's backend")


def lock_of_this_database() -> threading.Lock:
    return writer_lock(connection.settings_dict["NAME"])


def in_another_thread(work) -> threading.Thread:
    def run():
        try:
            work()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_a_writer_waits_for_the_lock_and_gets_it_at_the_holders_commit():
    lock = lock_of_this_database()
    inside, release, order = threading.Event(), threading.Event(), []

    def first_writer():
        with transaction.atomic():
            Organization.objects.create(name="First", slug="first")
            inside.set()
            release.wait(10)
            order.append("first commits")

    def second_writer():
        with transaction.atomic():
            order.append("second begins")
            Organization.objects.create(name="Second", slug="second")

    first = in_another_thread(first_writer)
    assert inside.wait(10)
    assert lock.locked()
    second = in_another_thread(second_writer)
    second.join(0.3)
    assert second.is_alive() and order == []  # queued on the lock, not inside a transaction
    release.set()
    first.join(10)
    second.join(10)
    assert order == ["first commits", "second begins"]
    assert not lock.locked()
    assert set(Organization.objects.values_list("slug", flat=True)) >= {"first", "second"}


@pytest.mark.django_db(transaction=True)
def test_a_rollback_and_a_closed_connection_hand_the_lock_over():
    lock = lock_of_this_database()
    with pytest.raises(RuntimeError), transaction.atomic():
        assert lock.locked()
        raise RuntimeError("the transaction fails")
    assert not lock.locked()
    connection.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
    assert lock.locked()
    connection.close()  # dropped inside its transaction (a request killed, a worker stopping)
    assert not lock.locked()


@pytest.mark.django_db(transaction=True)
def test_a_writer_that_cannot_get_the_lock_in_time_goes_on_to_sqlite():
    lock = lock_of_this_database()
    options = connection.settings_dict["OPTIONS"]
    lock.acquire()  # held by a writer that never lets go (and never reached SQLite)
    try:
        connection.close()
        options["timeout"], saved = 0.2, options["timeout"]
        with transaction.atomic():  # SQLite itself is free: the transaction goes ahead
            Organization.objects.create(name="Late", slug="late")
    finally:
        options["timeout"] = saved
        connection.close()
        lock.release()
    assert Organization.objects.filter(slug="late").exists()

