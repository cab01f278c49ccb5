"""The outbox and subscriptions on the real database: fan-out, SMS, replay, purge."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from selpo.db import session_scope
from selpo.errors import InvalidInput
from selpo.kit.clock import FrozenClock
from selpo.models import OutboxMessage
from selpo.notify import service
from selpo.notify.errors import WebhookSubscriptionNotFound
from tests.conftest import TEST_NOW
from tests.notify.conftest import MarketplaceKey, make_marketplace, outbox_rows, subscribe

URL = "https://market.example/hooks"


def _publish_then_fail(session_factory: sessionmaker[Session], marketplace_id: int) -> None:
    with session_scope(session_factory) as session:
        service.publish_event(
            session,
            marketplace_id=marketplace_id,
            event_type="shipment.created",
            data={},
            now=TEST_NOW,
        )
        service.queue_sms(session, phone="+79161234567", text="hi", now=TEST_NOW)
        raise RuntimeError("the shipment change failed after publishing")


class TestPublishEvent:
    def test_fans_out_to_each_active_subscription_that_wants_the_type(
        self, session_factory: sessionmaker[Session], marketplace: MarketplaceKey
    ) -> None:
        mp = marketplace.marketplace_id
        everything = subscribe(session_factory, mp, URL + "/all", now=TEST_NOW)
        cancels = subscribe(
            session_factory, mp, URL + "/c", now=TEST_NOW, events=("shipment.cancelled",)
        )
        created = subscribe(
            session_factory, mp, URL + "/n", now=TEST_NOW, events=("shipment.created",)
        )
        stopped = subscribe(session_factory, mp, URL + "/old", now=TEST_NOW)
        with session_scope(session_factory) as session:
            service.deactivate_subscription(
                session, marketplace_id=mp, subscription_id=stopped.id, now=TEST_NOW
            )
            other = make_marketplace(session, "NOTIFY_OTHER", now=TEST_NOW)
        subscribe(session_factory, other.marketplace_id, URL + "/other", now=TEST_NOW)

        with session_scope(session_factory) as session:
            event_id = service.publish_event(
                session,
                marketplace_id=mp,
                event_type="shipment.created",
                data={"tracking_number": "15395012345678", "promised_date": date(2026, 11, 30)},
                now=TEST_NOW,
            )
        rows = outbox_rows(session_factory)
        assert {r.subscription_id for r in rows} == {everything.id, created.id}
        assert cancels.id not in {r.subscription_id for r in rows}
        assert {r.event_id for r in rows} == {event_id}
        assert rows[0].payload == {
            "event_id": event_id,
            "type": "shipment.created",
            "created_at": "2026-11-25T09:00:00Z",
            "data": {"tracking_number": "15395012345678", "promised_date": "2026-11-30"},
        }
        assert {(r.status, r.attempts, r.available_at) for r in rows} == {("pending", 0, TEST_NOW)}

    def test_no_subscription_means_no_rows_but_an_event_id(
        self, session: Session, marketplace: MarketplaceKey
    ) -> None:
        event_id = service.publish_event(
            session,
            marketplace_id=marketplace.marketplace_id,
            event_type="shipment.cancelled",
            data={},
            now=TEST_NOW,
        )
        assert len(event_id) == 36
        assert session.scalars(select(OutboxMessage)).all() == []

    def test_an_unknown_event_type_is_a_programming_error(
        self, session: Session, marketplace: MarketplaceKey
    ) -> None:
        with pytest.raises(ValueError, match="unknown event type"):
            service.publish_event(
                session,
                marketplace_id=marketplace.marketplace_id,
                event_type="shipment.teleported",
                data={},
                now=TEST_NOW,
            )

    def test_data_json_cannot_carry_is_refused(
        self, session: Session, marketplace: MarketplaceKey
    ) -> None:
        with pytest.raises(TypeError, match="set"):
            service.publish_event(
                session,
                marketplace_id=marketplace.marketplace_id,
                event_type="shipment.created",
                data={"bad": {1, 2}},
                now=TEST_NOW,
            )

    def test_a_rolled_back_change_leaves_no_row(
        self, session_factory: sessionmaker[Session], marketplace: MarketplaceKey
    ) -> None:
        subscribe(session_factory, marketplace.marketplace_id, URL, now=TEST_NOW)
        with pytest.raises(RuntimeError, match="failed after publishing"):
            _publish_then_fail(session_factory, marketplace.marketplace_id)
        assert outbox_rows(session_factory) == []


class TestPublishMany:
    def test_events_of_several_marketplaces_go_out_in_one_batch_in_order(
        self, session_factory: sessionmaker[Session], marketplace: MarketplaceKey
    ) -> None:
        first = marketplace.marketplace_id
        with session_scope(session_factory) as session:
            second = make_marketplace(session, "NOTIFY_SECOND", now=TEST_NOW).marketplace_id
            silent = make_marketplace(session, "NOTIFY_SILENT", now=TEST_NOW).marketplace_id
        one = subscribe(session_factory, first, URL + "/1", now=TEST_NOW)
        two = subscribe(
            session_factory, second, URL + "/2", now=TEST_NOW, events=("shipment.cancelled",)
        )
        events = [
            service.MarketplaceEvent(first, "shipment.created", {"n": 1}),
            service.MarketplaceEvent(second, "shipment.created", {"n": 2}),  # not wanted
            service.MarketplaceEvent(silent, "shipment.cancelled", {"n": 3}),  # nobody listens
            service.MarketplaceEvent(second, "shipment.cancelled", {"n": 4}),
            service.MarketplaceEvent(first, "shipment.status_changed", {"n": 5}),
        ]
        with session_scope(session_factory) as session:
            ids = service.publish_many(session, events=events, now=TEST_NOW)
        assert len(set(ids)) == 5
        rows = outbox_rows(session_factory)
        assert [(r.subscription_id, r.payload["data"]["n"]) for r in rows] == [
            (one.id, 1),
            (two.id, 4),
            (one.id, 5),
        ]
        assert [r.event_id for r in rows] == [ids[0], ids[3], ids[4]]

    def test_one_unknown_type_refuses_the_batch(
        self, session: Session, marketplace: MarketplaceKey
    ) -> None:
        with pytest.raises(ValueError, match="unknown event type"):
            service.publish_many(
                session,
                events=[
                    service.MarketplaceEvent(marketplace.marketplace_id, "shipment.created", {}),
                    service.MarketplaceEvent(marketplace.marketplace_id, "shipment.lost", {}),
                ],
                now=TEST_NOW,
            )
        assert session.scalars(select(OutboxMessage)).all() == []


class TestQueueSms:
    def test_many_messages_are_queued_in_order(
        self, session_factory: sessionmaker[Session]
    ) -> None:
        with session_scope(session_factory) as session:
            service.queue_sms_many(
                session,
                messages=[
                    service.Sms("+7 916 123-45-67", "первое", "15395012345678"),
                    service.Sms("89161234568", "второе"),
                ],
                now=TEST_NOW,
            )
        rows = outbox_rows(session_factory)
        assert [(r.kind, r.reference, r.payload) for r in rows] == [
            ("sms", "15395012345678", {"phone": "+79161234567", "text": "первое"}),
            ("sms", None, {"phone": "89161234568", "text": "второе"}),
        ]

    def test_one_bad_phone_refuses_every_message(self, session: Session) -> None:
        with pytest.raises(InvalidInput) as refused:
            service.queue_sms_many(
                session,
                messages=[service.Sms("+79161234567", "hi"), service.Sms("12345", "hi")],
                now=TEST_NOW,
            )
        assert refused.value.field == "phone"
        assert session.scalars(select(OutboxMessage)).all() == []

    def test_queues_a_pending_sms_with_the_normalised_phone(
        self, session_factory: sessionmaker[Session]
    ) -> None:
        with session_scope(session_factory) as session:
            service.queue_sms(
                session,
                phone="+7 (916) 123-45-67",
                text="Посылка ждёт вас",
                now=TEST_NOW,
                reference="15395012345678",
            )
        (row,) = outbox_rows(session_factory)
        assert (row.kind, row.status, row.reference) == ("sms", "pending", "15395012345678")
        assert row.payload == {"phone": "+79161234567", "text": "Посылка ждёт вас"}
        assert row.subscription_id is None

    @pytest.mark.parametrize(
        ("phone", "text", "field"),
        [("12345", "hi", "phone"), ("+7916abc4567", "hi", "phone"), ("+79161234567", " ", "text")],
    )
    def test_bad_input_names_the_field(
        self, session: Session, phone: str, text: str, field: str
    ) -> None:
        with pytest.raises(InvalidInput) as refused:
            service.queue_sms(session, phone=phone, text=text, now=TEST_NOW)
        assert refused.value.field == field


class TestSubscriptions:
    def test_create_checks_url_and_events(
        self, session: Session, marketplace: MarketplaceKey
    ) -> None:
        mp = marketplace.marketplace_id
        for url in ("ftp://x.example/h", "market.example/h", "https:///nohost", "http://a b/"):
            with pytest.raises(InvalidInput) as refused:
                service.create_subscription(
                    session, marketplace_id=mp, url=url, events=["*"], now=TEST_NOW
                )
            assert refused.value.field == "url"
        for events in ([], ["shipment.created", "parcel.lost"]):
            with pytest.raises(InvalidInput) as refused:
                service.create_subscription(
                    session, marketplace_id=mp, url=URL, events=events, now=TEST_NOW
                )
            assert refused.value.field == "events"

    def test_events_are_deduplicated_and_star_means_all(
        self, session: Session, marketplace: MarketplaceKey
    ) -> None:
        mp = marketplace.marketplace_id
        twice = service.create_subscription(
            session,
            marketplace_id=mp,
            url=URL,
            events=["shipment.cancelled", "shipment.created", "shipment.cancelled"],
            now=TEST_NOW,
        )
        assert twice.events == ["shipment.cancelled", "shipment.created"]
        star = service.create_subscription(
            session, marketplace_id=mp, url=URL, events=["shipment.created", "*"], now=TEST_NOW
        )
        assert star.events == ["*"]
        assert star.secret.startswith("whsec_")
        assert star.secret != twice.secret

    def test_another_marketplaces_subscription_is_not_found(
        self, session: Session, marketplace: MarketplaceKey
    ) -> None:
        other = make_marketplace(session, "NOTIFY_OTHER", now=TEST_NOW)
        theirs = service.create_subscription(
            session, marketplace_id=other.marketplace_id, url=URL, events=["*"], now=TEST_NOW
        )
        with pytest.raises(WebhookSubscriptionNotFound):
            service.deactivate_subscription(
                session,
                marketplace_id=marketplace.marketplace_id,
                subscription_id=theirs.id,
                now=TEST_NOW,
            )
        assert theirs.active

    def test_deactivating_cancels_undelivered_messages(
        self, session_factory: sessionmaker[Session], marketplace: MarketplaceKey
    ) -> None:
        mp = marketplace.marketplace_id
        subscription = subscribe(session_factory, mp, URL, now=TEST_NOW)
        with session_scope(session_factory) as session:
            service.publish_event(
                session, marketplace_id=mp, event_type="shipment.created", data={}, now=TEST_NOW
            )
            service.deactivate_subscription(
                session, marketplace_id=mp, subscription_id=subscription.id, now=TEST_NOW
            )
            assert service.list_subscriptions(session, marketplace_id=mp) == []
        assert [r.status for r in outbox_rows(session_factory)] == ["cancelled"]


class TestReplayEvents:
    def test_requeues_each_event_since_once_with_its_id(
        self, session_factory: sessionmaker[Session], marketplace: MarketplaceKey
    ) -> None:
        mp = marketplace.marketplace_id
        clock = FrozenClock(TEST_NOW)
        subscription = subscribe(session_factory, mp, URL, now=clock.now())
        published = []
        for _ in range(3):
            with session_scope(session_factory) as session:
                published.append(
                    service.publish_event(
                        session,
                        marketplace_id=mp,
                        event_type="shipment.status_changed",
                        data={"status": "in_transit"},
                        now=clock.now(),
                    )
                )
            clock.advance(timedelta(hours=1))
        with session_scope(session_factory) as session:
            # The first two were delivered, the last still waits: it is not queued twice.
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.event_id.in_(published[:2]))
                .values(status="sent")
            )
            since = TEST_NOW + timedelta(minutes=30)
            count = service.replay_events(
                session,
                marketplace_id=mp,
                subscription_id=subscription.id,
                since=since,
                now=clock.now(),
            )
        assert count == 1
        rows = outbox_rows(session_factory)
        assert [r.event_id for r in rows] == [*published, published[1]]
        replayed = rows[-1]
        assert (replayed.status, replayed.created_at) == ("pending", clock.now())
        assert replayed.event_created_at == TEST_NOW + timedelta(hours=1)
        assert replayed.payload == rows[1].payload

        with session_scope(session_factory) as session:
            again = service.replay_events(
                session,
                marketplace_id=mp,
                subscription_id=subscription.id,
                since=TEST_NOW,
                now=clock.now(),
            )
        assert again == 1  # only the first: the other two are waiting


class TestPurgeFinishedMessages:
    def test_deletes_finished_rows_older_than_30_days_only(
        self, session_factory: sessionmaker[Session]
    ) -> None:
        old = TEST_NOW - timedelta(days=31)
        recent = TEST_NOW - timedelta(days=29)
        with session_scope(session_factory) as session:
            for created_at in (old, recent):
                for status in ("pending", "sent", "dead", "cancelled"):
                    session.add(
                        OutboxMessage(
                            kind="sms",
                            status=status,
                            payload={"phone": "+79161234567", "text": status},
                            created_at=created_at,
                            available_at=created_at,
                            attempts=1,
                        )
                    )
        with session_scope(session_factory) as session:
            assert service.purge_finished_messages(session, TEST_NOW) == 3
            counts = service.count_messages(session)
        assert counts == service.OutboxCounts(pending=2, sent=1, dead=1, cancelled=1)
        left = {(r.status, r.created_at) for r in outbox_rows(session_factory)}
        assert ("pending", old) in left
        assert all(created_at == recent for status, created_at in left if status != "pending")
