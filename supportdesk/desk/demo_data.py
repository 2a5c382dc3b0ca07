"""Realistic demo data: one organization, its knowledge base and release notes. Idempotent."""

from datetime import date

from django.contrib.auth.models import User
from django.db import transaction

from supportdesk.desk.models import (
    AgentConfig,
    Article,
    NetworkConfig,
    Organization,
    ReleaseNote,
    Reviewer,
)
from supportdesk.desk.network import DEFAULT_AGENTS, DEFAULT_NETWORK

ARTICLES = [
    (
        "Resetting your password",
        "password, login, sign in, reset, account",
        "Open the sign-in page and choose 'Forgot password'. We email a reset link that is valid "
        "for 30 minutes. If it does not arrive, check your spam folder or ask your workspace "
        "admin to resend the invitation.",
    ),
    (
        "Exporting your data to CSV",
        "export, csv, download, data, report",
        "Go to Settings → Data → Export and choose CSV. Exports of up to 1 million rows are "
        "prepared in the background; you receive an email with a download link valid for 7 days.",
    ),
    (
        "Changing your billing plan",
        "billing, invoice, plan, upgrade, downgrade, payment",
        "Workspace owners can change plans under Settings → Billing. Upgrades apply at once and "
        "are prorated; downgrades take effect at the end of the current billing period.",
    ),
    (
        "Setting up single sign-on (SAML)",
        "sso, saml, okta, azure, login, enterprise",
        "Enterprise workspaces can enable SAML SSO under Settings → Security. Paste your identity "
        "provider's metadata URL, map the email attribute, and test with one user before "
        "enforcing SSO for everyone.",
    ),
    (
        "Mobile app keeps logging me out",
        "mobile, ios, android, logout, session",
        "Sessions on mobile last 30 days. Being logged out sooner usually means the device clock "
        "is wrong or a password was changed. Update the app to the latest version and sign in.",
    ),
]

RELEASE_NOTES = [
    (
        "2.4.1",
        date(2026, 11, 18),
        "Fixes a crash when opening the dashboard with more than 50 widgets. Fixes CSV export "
        "timing out for large workspaces. Known issue: the iOS app may crash on launch on iOS "
        "17.0 when offline mode is enabled; a fix is in progress.",
    ),
    (
        "2.4.0",
        date(2026, 11, 4),
        "New: SAML SSO for enterprise workspaces. New: scheduled CSV exports. Changed: sessions "
        "on mobile now last 30 days. Deprecated: the v1 reporting API (removed in 3.0).",
    ),
    (
        "2.3.2",
        date(2026, 10, 21),
        "Fixes login loops for users with expired invitations. Performance: dashboards load 40% "
        "faster.",
    ),
]


DEMO_USERNAME, DEMO_PASSWORD = "demo", "demo"


@transaction.atomic
def demo_seed(
    slug: str = "acme", name: str = "Acme Inc.", *, approvals: bool = True
) -> Organization:
    organization, _ = Organization.objects.get_or_create(slug=slug, defaults={"name": name})
    for title, tags, body in ARTICLES:
        Article.objects.get_or_create(
            organization=organization, title=title, defaults={"tags": tags, "body": body}
        )
    network_seed(organization, approvals=approvals)
    for version, released_on, notes in RELEASE_NOTES:
        ReleaseNote.objects.get_or_create(
            organization=organization,
            version=version,
            defaults={"released_on": released_on, "notes": notes},
        )
    return organization


def network_seed(organization: Organization, *, approvals: bool = True) -> NetworkConfig:
    """The default support network, editable in admin (kept as it is if it exists). With
    `approvals`, replies on critical tickets wait for a reviewer's approval (the demo's default)."""
    network, created = NetworkConfig.objects.get_or_create(
        organization=organization,
        defaults={"name": DEFAULT_NETWORK["name"], "router": DEFAULT_NETWORK["router"],
                  "supervisor_instructions": DEFAULT_NETWORK["instructions"],
                  "max_iterations": DEFAULT_NETWORK["max_iter"]},
    )  # fmt: skip
    if created:
        for position, spec in enumerate(DEFAULT_AGENTS):
            agent, _ = AgentConfig.objects.get_or_create(
                organization=organization, name=spec["name"],
                defaults={"description": spec["description"], "system_prompt": spec["system"],
                          "tools": spec["tools"], "position": position,
                          "tool_approvals": spec["tool_approvals"] if approvals else {}},
            )  # fmt: skip
            network.agents.add(agent)
    return network


@transaction.atomic
def demo_reviewer_seed(organization: Organization) -> User:
    """A reviewer to sign in with on the embedded default (also an admin): demo / demo."""
    user, created = User.objects.get_or_create(
        username=DEMO_USERNAME,
        defaults={"first_name": "Demo", "last_name": "Reviewer", "email": "demo@example.com",
                  "is_staff": True, "is_superuser": True},
    )  # fmt: skip
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    Reviewer.objects.get_or_create(user=user, defaults={"organization": organization})
    return user
