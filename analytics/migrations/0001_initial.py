# PostStatsBucket moved here from interactions with its table (interactions_poststatsbucket), its
# indexes and its rows: this migration only adds the model to analytics' state; the database is untouched.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('feed', '0002_initial'),
        ('interactions', '0004_poststatsbucket_to_analytics'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='PostStatsBucket',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('start', models.DateTimeField()),
                        ('views', models.PositiveBigIntegerField(default=0)),
                        ('likes', models.IntegerField(default=0)),
                        ('comments', models.IntegerField(default=0)),
                        ('shares', models.IntegerField(default=0)),
                        ('author', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('post', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='stats_buckets', to='feed.post')),
                    ],
                    options={
                        'db_table': 'interactions_poststatsbucket',
                        'indexes': [
                            models.Index(models.F('author'), models.F('start'), name='poststats_author_idx'),
                            models.Index(condition=models.Q(models.Q(('likes', 0), _negated=True), models.Q(('comments', 0), _negated=True), models.Q(('shares', 0), _negated=True), _connector='OR'), fields=['start'], include=('post', 'likes', 'comments', 'shares'), name='poststats_trend_idx'),
                        ],
                        'constraints': [
                            models.UniqueConstraint(fields=('post', 'start'), name='poststats_unique_hour'),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
