# Notification moved to the notifications app with its table (interactions_notification), its indexes,
# constraints and rows: this migration only drops the model from interactions' state; the database is
# untouched (notifications 0001 adds it to notifications' state).

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('interactions', '0004_poststatsbucket_to_analytics'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='Notification')],
            database_operations=[],
        ),
    ]
