from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "supportdesk administration"
admin.site.site_title = "supportdesk admin"
admin.site.index_title = "Organizations, agents, tickets and runs"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("supportdesk.api.urls")),
    path("", include("supportdesk.inbox.urls")),
    path("", RedirectView.as_view(url="/inbox/", permanent=False)),
]
