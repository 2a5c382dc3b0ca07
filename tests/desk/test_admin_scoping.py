"""Django admin is scoped to the staff user's organizations: a staff user of Acme (not a superuser,
holding every permission of the desk, the API, the engine and auth) never sees, edits or picks
Globex's data; a superuser still sees everything."""

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.urls import reverse

from supportdesk.api import services as api_services
from supportdesk.desk.models import (
    AgentConfig,
    Article,
    NetworkConfig,
    Organization,
    Question,
    ReleaseNote,
    Reviewer,
    Ticket,
)
from supportdesk.desk.services import organization_tenant
from supportdesk.durable.models import Event, Run, Wait
from tests.admin_pages import (
    SCOPED_APPS,
    admin_url,
    checkbox_values,
    logged_in,
    make_organization_staff,
    select_options,
)

pytestmark = pytest.mark.django_db(transaction=True)

ACME_WEBHOOK = "https://hooks.slack.com/services/T0ACME/B0ACME/acmeSecretToken1234"
GLOBEX_WEBHOOK = "https://hooks.slack.com/services/T0GLOBEX/B0GLOBEX/globexSecretToken9876"


def tenant_data(organization, ask, *, title: str, webhook: str, reviewer: User) -> SimpleNamespace:
    """An organization with everything the admin shows: a ticket whose run waits on a question,
    keys, a webhook, a reviewer and a group, and the demo seed's KB, release notes and agents."""
    Organization.objects.filter(pk=organization.pk).update(slack_webhook_url=webhook)
    question = ask(organization, title=title)
    group = Group.objects.create(name=f"{organization.slug} admins")
    group.user_set.add(reviewer)
    return SimpleNamespace(
        organization=organization,
        ticket=question.ticket,
        question=question,
        runs=list(Run.objects.filter(tenant=organization_tenant(organization.pk))),
        waits=list(Wait.objects.filter(tenant=organization_tenant(organization.pk))),
        events=list(Event.objects.filter(tenant=organization_tenant(organization.pk))),
        api_key=api_services.key_create(organization=organization, name="sync").key,
        event_key=api_services.key_create(organization=organization, name="in", kind="event").key,
        reviewer=Reviewer.objects.get(user=reviewer),
        group=group,
        articles=list(Article.objects.filter(organization=organization)),
        release_notes=list(ReleaseNote.objects.filter(organization=organization)),
        agents=list(AgentConfig.objects.filter(organization=organization)),
        network=NetworkConfig.objects.get(organization=organization),
    )


def objects_of(data: SimpleNamespace) -> list:
    """Every object of a tenant that has an admin page."""
    return [
        data.organization, data.ticket, data.question, *data.runs, *data.waits, *data.events,
        data.api_key, data.event_key, data.reviewer, data.reviewer.user, data.group,
        *data.articles, *data.release_notes, *data.agents, data.network,
    ]  # fmt: skip


CHANGELISTS = [Organization, Reviewer, Ticket, Question, Article, ReleaseNote, AgentConfig,
               NetworkConfig, Run, Wait, Event, User, Group]  # fmt: skip


@pytest.fixture
def acme_staff(organization):
    return make_organization_staff("ann", organization)


@pytest.fixture
def acme(organization, ask, acme_staff):
    return tenant_data(
        organization, ask, title="Acme: the app crashes", webhook=ACME_WEBHOOK, reviewer=acme_staff
    )


@pytest.fixture
def globex(other_organization, ask, carol):
    return tenant_data(
        other_organization, ask, title="Globex: the app crashes", webhook=GLOBEX_WEBHOOK,
        reviewer=carol,
    )  # fmt: skip


@pytest.fixture
def root():
    return User.objects.create_superuser("root", "root@example.com", "pw")


def changelists() -> list[str]:
    from supportdesk.api.models import ApiKey, EventKey

    return [admin_url(model, "changelist") for model in [*CHANGELISTS, ApiKey, EventKey]]


def test_changelists_list_only_the_staff_users_organization(acme, globex, acme_staff, root):
    staff = logged_in(acme_staff)
    for url in changelists():
        page = staff.get(url)
        assert page.status_code == 200, url
        html = page.content.decode()
        for obj in objects_of(globex):
            assert admin_url(obj) not in html, (url, obj)
        # Not in a column, nor in a list filter's choices (the organization, the groups).
        assert "globex" not in html.lower(), url
    shown = "".join(staff.get(url).content.decode() for url in changelists())
    assert all(admin_url(obj) in shown for obj in objects_of(acme))

    everything = "".join(logged_in(root).get(url).content.decode() for url in changelists())
    assert all(admin_url(obj) in everything for obj in objects_of(acme) + objects_of(globex))


def test_another_organizations_pages_are_not_found(acme, globex, acme_staff):
    staff = logged_in(acme_staff)
    for obj in objects_of(globex):
        assert staff.get(admin_url(obj)).status_code == 404, obj
        assert staff.get(admin_url(obj, "history")).status_code == 404, obj
        assert staff.get(admin_url(obj, "delete")).status_code == 404, obj
    for obj in objects_of(acme):
        assert staff.get(admin_url(obj)).status_code == 200, obj

    article = globex.articles[0]
    edit = {"organization": acme.organization.pk, "title": "Taken", "body": "x", "tags": ""}
    assert staff.post(admin_url(article), edit).status_code == 404
    assert staff.post(admin_url(article, "delete"), {"post": "yes"}).status_code == 404
    article.refresh_from_db()
    assert article.title != "Taken" and article.organization == globex.organization
    carol = globex.reviewer.user
    password = {"password1": "Stolen-pw-1", "password2": "Stolen-pw-1"}
    password_url = reverse("admin:auth_user_password_change", args=[carol.pk])
    assert staff.post(password_url, password).status_code == 404
    carol.refresh_from_db()
    assert not carol.check_password("Stolen-pw-1")


ORGANIZATION_FORMS = [Ticket, Article, ReleaseNote, AgentConfig, NetworkConfig, Reviewer]


def test_forms_offer_only_the_staff_users_organization_preselected(acme, globex, acme_staff, root):
    staff = logged_in(acme_staff)
    for model in ORGANIZATION_FORMS:
        html = staff.get(admin_url(model, "add")).content.decode()
        assert select_options(html, "organization") == [("", False), (str(acme.organization.pk),
                                                                       True)], model  # fmt: skip

    reviewer_users = {value for value, _ in select_options(
        staff.get(admin_url(Reviewer, "add")).content.decode(), "user")}  # fmt: skip
    assert str(globex.reviewer.user.pk) not in reviewer_users and str(root.pk) not in reviewer_users
    assert str(acme_staff.pk) in reviewer_users

    network_agents = checkbox_values(staff.get(admin_url(acme.network)).content.decode(), "agents")
    assert sorted(network_agents) == sorted(str(agent.pk) for agent in acme.agents)

    # A superuser is offered every organization, none preselected.
    html = logged_in(root).get(admin_url(Article, "add")).content.decode()
    assert {value for value, _ in select_options(html, "organization")} == {
        "",
        str(acme.organization.pk),
        str(globex.organization.pk),
    }


def test_what_a_staff_user_creates_belongs_to_their_organization(acme, globex, acme_staff):
    staff = logged_in(acme_staff)
    article = {"title": "Our own article", "body": "Hello", "tags": "",
               "updated_at_0": "2026-01-01", "updated_at_1": "00:00:00"}  # fmt: skip
    refused = staff.post(admin_url(Article, "add"),
                         {**article, "organization": globex.organization.pk})  # fmt: skip
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
    assert not Article.objects.filter(title="Our own article").exists()

    created = staff.post(admin_url(Article, "add"),
                         {**article, "organization": acme.organization.pk})  # fmt: skip
    assert created.status_code == 302
    assert Article.objects.get(title="Our own article").organization == acme.organization

    # The network of another organization's agents cannot be assembled either.
    network = {"organization": acme.organization.pk, "name": "Mixed", "router": "supervisor",
               "default_model": "m", "max_iterations": 5,
               "agents": [acme.agents[0].pk, globex.agents[0].pk]}  # fmt: skip
    refused = staff.post(admin_url(acme.network), network)
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
    saved = NetworkConfig.objects.get(pk=acme.network.pk)
    assert saved.name != "Mixed" and globex.agents[0] not in saved.agents.all()


def test_actions_and_list_editing_touch_only_the_staff_users_organization(acme, globex, acme_staff):
    staff = logged_in(acme_staff)
    globex_article = globex.articles[0]
    staff.post(admin_url(Article, "changelist"), {
        "action": "delete_selected", "_selected_action": [globex_article.pk], "post": "yes",
    })  # fmt: skip
    assert Article.objects.filter(pk=globex_article.pk).exists()

    agent = globex.agents[0]
    edit = {"form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-0-id": agent.pk,
            "form-0-position": "99", "_save": "Save"}  # fmt: skip
    assert staff.post(admin_url(AgentConfig, "changelist"), edit).status_code == 404
    agent.refresh_from_db()
    assert agent.enabled and agent.position != 99
    own = acme.agents[0]
    mine = {**edit, "form-0-id": own.pk, "form-0-enabled": "on"}
    assert staff.post(admin_url(AgentConfig, "changelist"), mine).status_code == 302
    own.refresh_from_db()
    assert own.position == 99


def test_search_filters_and_autocomplete_are_scoped(acme, globex, acme_staff):
    staff = logged_in(acme_staff)
    found = staff.get(admin_url(Ticket, "changelist"), {"q": "crashes"}).content.decode()
    assert admin_url(acme.ticket) in found and admin_url(globex.ticket) not in found
    filtered = staff.get(
        admin_url(Ticket, "changelist"), {"organization__id__exact": globex.organization.pk}
    ).content.decode()
    assert admin_url(globex.ticket) not in filtered

    def autocomplete(model_name: str, field_name: str) -> set[str]:
        response = staff.get(reverse("admin:autocomplete"), {
            "app_label": "desk", "model_name": model_name, "field_name": field_name, "term": "",
        })  # fmt: skip
        assert response.status_code == 200
        return {result["id"] for result in response.json()["results"]}

    assert autocomplete("ticket", "organization") == {str(acme.organization.pk)}
    assert str(globex.reviewer.user.pk) not in autocomplete("reviewer", "user")


def test_only_superusers_add_delete_or_throttle_organizations(acme, globex, acme_staff, root):
    staff = logged_in(acme_staff)
    assert staff.get(admin_url(Organization, "add")).status_code == 403
    staff.post(admin_url(Organization, "add"), {"name": "Mine", "slug": "mine"})
    assert not Organization.objects.filter(slug="mine").exists()
    assert staff.get(admin_url(acme.organization, "delete")).status_code == 403
    own = staff.get(admin_url(acme.organization)).content.decode()
    assert 'name="slug"' not in own and 'name="max_concurrent_runs"' not in own
    saved = staff.post(admin_url(acme.organization), {
        "name": "Acme Corp", "slug": "taken", "max_concurrent_runs": "50",
        "grouping_window_hours": "24", "group_answers": "suggest",
        "created_at_0": "2026-01-01", "created_at_1": "00:00:00",
    })  # fmt: skip
    assert saved.status_code == 302
    acme.organization.refresh_from_db()
    assert acme.organization.name == "Acme Corp"  # theirs to edit
    assert acme.organization.slug == "acme" and acme.organization.max_concurrent_runs is None

    superuser = logged_in(root)
    assert superuser.get(admin_url(Organization, "add")).status_code == 200
    own = superuser.get(admin_url(acme.organization)).content.decode()
    assert 'name="slug"' in own and 'name="max_concurrent_runs"' in own


def test_the_slack_webhook_is_never_shown_in_full(acme, globex, acme_staff, root):
    staff = logged_in(acme_staff)
    for client in (staff, logged_in(root)):
        for data, webhook in ((acme, ACME_WEBHOOK), (globex, GLOBEX_WEBHOOK)):
            page = client.get(admin_url(data.organization))
            html = page.content.decode()
            secret = webhook.removeprefix("https://hooks.slack.com/services/")
            assert webhook not in html and secret[:-4] not in html
            if page.status_code == 200:
                assert f"https://hooks.slack.com/…/{webhook[-4:]}" in html
        # Probing it character by character through a changelist lookup is refused.
        probe = {"slack_webhook_url__startswith": "https://hooks.slack.com/services/T0ACME"}
        assert client.get(admin_url(Organization, "changelist"), probe).status_code == 400


def test_the_slack_webhook_is_kept_replaced_or_removed(acme, acme_staff):
    staff = logged_in(acme_staff)
    form = {"name": "Acme Inc.", "grouping_window_hours": "24", "group_answers": "suggest",
            "created_at_0": "2026-01-01", "created_at_1": "00:00:00"}

    def saved_webhook(**fields) -> str:
        response = staff.post(admin_url(acme.organization), {**form, **fields})
        assert response.status_code == 302, response.content.decode()
        return Organization.objects.get(pk=acme.organization.pk).slack_webhook_url

    assert saved_webhook(slack_webhook_url="") == ACME_WEBHOOK  # blank keeps it
    new = "https://hooks.slack.com/services/T0ACME/B0NEW/replacedToken0000"
    assert saved_webhook(slack_webhook_url=new) == new
    assert saved_webhook(remove_slack_webhook_url="on") == ""


def test_the_user_admin_shows_only_the_organizations_people_and_grants_no_power(
    acme, globex, acme_staff, bob, root
):
    staff = logged_in(acme_staff)
    users = staff.get(admin_url(User, "changelist")).content.decode()
    assert admin_url(acme_staff) in users and admin_url(bob) in users
    assert admin_url(globex.reviewer.user) not in users and admin_url(root) not in users

    # Their own page: privileges are shown, not editable; posting them changes nothing.
    own = staff.get(admin_url(acme_staff)).content.decode()
    for field in ("is_superuser", "is_staff", "groups", "user_permissions"):
        assert f'name="{field}"' not in own
    staff.post(admin_url(acme_staff), {
        "username": "ann", "is_superuser": "on", "is_staff": "on", "is_active": "on",
        "groups": [globex.group.pk], "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
    })  # fmt: skip
    acme_staff.refresh_from_db()
    assert not acme_staff.is_superuser and not acme_staff.groups.filter(pk=globex.group.pk)

    # A reviewer who is not staff can be edited, but not made staff.
    staff.post(admin_url(bob), {
        "username": "bob", "is_staff": "on", "is_active": "on",
        "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
    })  # fmt: skip
    bob.refresh_from_db()
    assert not bob.is_staff

    # Another staff account of the same organization (here a superuser) is view-only: changing its
    # password would be taking its powers.
    boss = User.objects.create_superuser("boss", "boss@example.com", "pw")
    Reviewer.objects.create(user=boss, organization=acme.organization)
    assert 'name="username"' not in staff.get(admin_url(boss)).content.decode()
    password_url = reverse("admin:auth_user_password_change", args=[boss.pk])
    assert staff.get(password_url).status_code == 403
    assert staff.get(admin_url(boss, "delete")).status_code == 403

    # A user a staff user creates becomes a reviewer of their organization.
    created = staff.post(admin_url(User, "add"), {
        "username": "newbie", "usable_password": "true",
        "password1": "A-long-pw-123", "password2": "A-long-pw-123",
    })  # fmt: skip
    assert created.status_code == 302
    newbie = User.objects.get(username="newbie")
    assert newbie.reviewer.organization == acme.organization and not newbie.is_staff

    superuser = logged_in(root)
    assert 'name="is_superuser"' in superuser.get(admin_url(bob)).content.decode()


def test_groups_are_read_only_for_staff(acme, globex, acme_staff):
    staff = logged_in(acme_staff)
    assert staff.get(admin_url(Group, "add")).status_code == 403
    assert 'name="permissions"' not in staff.get(admin_url(acme.group)).content.decode()


def test_a_staff_user_of_no_organization_sees_nothing(acme, globex):
    loner = User.objects.create_user("loner", "loner@example.com", "pw", is_staff=True)
    loner.user_permissions.set(Permission.objects.filter(content_type__app_label__in=SCOPED_APPS))
    client = logged_in(loner)
    for url in changelists():
        html = client.get(url).content.decode()
        for obj in objects_of(acme) + objects_of(globex):
            assert admin_url(obj) not in html, (url, obj)
    assert client.get(admin_url(Article, "add")).status_code == 403
