"""The desk in Django admin: tickets with their replies and questions, and the knowledge base."""

from django.contrib import admin

from supportdesk.desk.models import Article, Organization, Question, ReleaseNote, Reply, Ticket


class ReplyInline(admin.TabularInline):
    model = Reply
    extra = 0
    fields = ["created_at", "agent", "body"]
    readonly_fields = fields
    can_delete = False


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 0
    fields = ["created_at", "agent", "question", "status", "answer", "answered_by"]
    readonly_fields = fields
    can_delete = False


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "priority", "status", "organization", "created_at"]
    list_filter = ["status", "priority", "organization"]
    search_fields = ["title", "body", "customer"]
    readonly_fields = ["runs", "resolution", "created_at", "updated_at"]
    inlines = [ReplyInline, QuestionInline]


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ["id", "ticket", "agent", "status", "answered_by", "created_at", "expires_at"]
    list_filter = ["status"]
    readonly_fields = [f.name for f in Question._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["title", "organization", "tags", "updated_at"]
    list_filter = ["organization"]
    search_fields = ["title", "body", "tags"]


@admin.register(ReleaseNote)
class ReleaseNoteAdmin(admin.ModelAdmin):
    list_display = ["version", "released_on", "organization"]
    list_filter = ["organization"]
