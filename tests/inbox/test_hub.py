"""The inbox's fan-out hub: one channel-layer message per change and process, each frame built
once and judged once per filter, only ever to the change's organization; and the inbox's pages
(a first page, "show more" over the socket, a pushed card only where it sorts among them)."""

import json
import re
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async

from supportdesk.inbox import hub as inbox_hub
from supportdesk.inbox.filters import InboxFilters
from supportdesk.inbox.live import _publisher
from tests.inbox.test_consumers import COUNTS, connect, no_push, receive_push, session_cookie
from tests.inbox.test_filters import open_question

pytestmark = [pytest.mark.django_db(transaction=True)]

CARD = re.compile(r'<article id="question-([0-9a-f-]{36})"')
INSERTED = '<div hx-swap-oob="afterbegin:#question-list">'


async def opened(*inboxes) -> list[str]:
    firsts = []
    for inbox in inboxes:
        # Generous: under the suite's load (both modes at once, 2 cores) a first page can take
        # over a second; a frame that arrives sooner returns at once.
        assert (await inbox.connect(timeout=10))[0]
        firsts.append(await inbox.receive_from(timeout=10))
    return firsts


async def closed(*inboxes) -> None:
    for inbox in inboxes:
        await inbox.disconnect()


def test_a_change_is_one_message_judged_once_per_filter_and_built_once(
    ann, bob, organization, monkeypatch
):
    judged = []
    accepts = InboxFilters.accepts
    monkeypatch.setattr(InboxFilters, "accepts",
                        lambda self, **kw: judged.append(self) or accepts(self, **kw))  # fmt: skip
    cookies = [session_cookie(ann), session_cookie(bob)]

    async def scenario():
        # Four sockets of two reviewers on "everyone's": one filter key per reviewer (their teams
        # count); two more on critical-only, one on low-only.
        same = [connect("/ws/inbox/?scope=everyone", cookie) for cookie in cookies * 2]
        critical = [connect("/ws/inbox/?scope=everyone&priority=critical", cookies[0])
                    for _ in range(2)]  # fmt: skip
        low = connect("/ws/inbox/?scope=everyone&priority=low", cookies[0])
        await opened(*same, *critical, low)
        the_hub = inbox_hub.hub()
        deliveries, renders = the_hub.deliveries, the_hub.renders

        question = await database_sync_to_async(open_question)(
            organization, priority="critical", expires_in=timedelta(hours=1))
        await database_sync_to_async(_publisher.flush)()
        frames = [await receive_push(inbox) for inbox in [*same, *critical]]
        assert len(set(frames)) == 1 and frames[0].startswith(INSERTED)
        assert CARD.findall(frames[0]) == [question]
        assert await no_push(low)
        assert the_hub.deliveries - deliveries == 1  # one message for the seven sockets
        assert the_hub.renders - renders == 1  # one frame, written seven times
        # Three filter keys ("everyone's" is not personal; critical; low), each judged once.
        assert sorted(f.priority for f in judged) == ["", "critical", "low"]
        await closed(*same, *critical, low)

    async_to_sync(scenario)()


def test_an_organizations_changes_reach_only_its_reviewers(
    ann, carol, organization, other_organization
):
    ann_cookie, carol_cookie = session_cookie(ann), session_cookie(carol)

    async def scenario():
        acme, globex = connect("/ws/inbox/", ann_cookie), connect("/ws/inbox/", carol_cookie)
        await opened(acme, globex)
        mine = await database_sync_to_async(open_question)(
            organization, priority="high", expires_in=timedelta(hours=1))
        theirs = await database_sync_to_async(open_question)(
            other_organization, priority="high", expires_in=timedelta(hours=1))
        await database_sync_to_async(_publisher.flush)()
        assert CARD.findall(await receive_push(acme)) == [mine]
        assert CARD.findall(await receive_push(globex)) == [theirs]
        for inbox, foreign in ((acme, theirs), (globex, mine)):
            while not await inbox.receive_nothing(timeout=0.3):
                assert foreign not in await inbox.receive_from()  # not even in the counts
        await closed(acme, globex)

    async_to_sync(scenario)()


def test_counts_are_exact_for_the_filter_and_overall(ann, organization):
    cookie = session_cookie(ann)
    for _ in range(2):
        open_question(organization, priority="low", expires_in=timedelta(hours=1))

    async def scenario():
        critical = connect("/ws/inbox/?priority=critical", cookie)
        [first] = await opened(critical)
        assert 'data-for-filter="0" data-pending="2"' in first
        await database_sync_to_async(open_question)(
            organization, priority="critical", expires_in=timedelta(hours=1))
        await database_sync_to_async(_publisher.flush)()
        await receive_push(critical)
        counts = await critical.receive_from()
        assert counts.startswith(COUNTS) and 'data-for-filter="1" data-pending="3"' in counts
        await closed(critical)

    async_to_sync(scenario)()


@pytest.fixture
def page_of_three(monkeypatch):
    monkeypatch.setattr("supportdesk.desk.selectors.INBOX_PAGE_SIZE", 3)


def test_a_long_inbox_comes_in_pages_and_a_push_only_lands_among_them(
    ann, organization, page_of_three
):
    """Most urgent first, three a page: a change beyond the loaded pages is counted, not shown
    out of order; "show more" brings the next page, and its request."""
    cookie = session_cookie(ann)
    hours = [open_question(organization, priority="high", expires_in=timedelta(hours=n))
             for n in range(1, 6)]  # fmt: skip

    async def scenario():
        inbox = connect("/ws/inbox/", cookie)
        [first] = await opened(inbox)
        assert CARD.findall(first) == hours[:3]
        assert 'data-for-filter="5"' in first
        cursor = re.search(r'data-cursor="([^"]+)"', first).group(1)

        # Sorts after the third card: not inserted; among them: inserted.
        later = await database_sync_to_async(open_question)(
            organization, priority="high", expires_in=timedelta(hours=4, minutes=30))
        sooner = await database_sync_to_async(open_question)(
            organization, priority="critical", expires_in=timedelta(hours=9))
        await database_sync_to_async(_publisher.flush)()
        pushed = await receive_push(inbox)
        assert CARD.findall(pushed) == [sooner] and later not in pushed
        assert await no_push(inbox)

        # Show more: the page after the cursor, the late one in its place.
        await inbox.send_to(text_data=json.dumps({"more": cursor, "HEADERS": {}}))
        more = await inbox.receive_from()
        assert more.startswith('<div hx-swap-oob="beforeend:#question-list">')
        assert CARD.findall(more) == [hours[3], later, hours[4]]
        assert 'data-cursor="' not in more  # the last page: no more link
        # A stale or garbled cursor appends nothing.
        for junk in (cursor, "garbage", "1.2.3", 42, None):
            await inbox.send_to(text_data=json.dumps({"more": junk}))
        await inbox.send_to(text_data="not json")
        assert await inbox.receive_nothing(timeout=0.3)
        await closed(inbox)

    async_to_sync(scenario)()
