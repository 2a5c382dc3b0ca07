from django.db import migrations, models
from django.db.models import F


def backfill(apps, schema_editor):
    """Answered ones closed when answered; expired ones at their deadline. When a cancelled one
    closed was never recorded: it stays unknown rather than made up."""
    Question = apps.get_model("desk", "Question")
    Question.objects.filter(status="answered").update(closed_at=F("answered_at"))
    Question.objects.filter(status="expired").update(closed_at=F("expires_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("desk", "0010_teams_deadlines"),
    ]

    operations = [
        migrations.AddField(
            model_name="question",
            name="closed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
