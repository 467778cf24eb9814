# PostStatsBucket moved to the analytics app with its table (interactions_poststatsbucket), its indexes
# and its rows: this migration only drops the model from interactions' state; the database is untouched
# (analytics 0001 adds it to analytics' state).

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('interactions', '0003_poststats_trend_idx'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='PostStatsBucket')],
            database_operations=[],
        ),
    ]
