# Notification moved here from interactions with its table (interactions_notification), its indexes,
# constraints and rows: this migration only adds the model to notifications' state; the database is
# untouched (interactions 0005 dropped it from interactions' state).

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('feed', '0002_initial'),
        ('interactions', '0005_notification_to_notifications'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Notification',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('LIKE', 'Like'), ('COMMENT', 'Comment'), ('REPLY', 'Reply'), ('SHARE', 'Share'), ('FOLLOW', 'Follow'), ('MENTION', 'Mention')], max_length=16)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('read_at', models.DateTimeField(blank=True, null=True)),
                        ('actor', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('comment', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='interactions.comment')),
                        ('post', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='feed.post')),
                        ('recipient', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='notifications', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'interactions_notification',
                        'indexes': [
                            models.Index(models.F('recipient'), models.OrderBy(models.F('created_at'), descending=True), models.OrderBy(models.F('id'), descending=True), name='notification_recipient_idx'),
                            models.Index(models.F('recipient'), models.OrderBy(models.F('created_at'), descending=True), models.OrderBy(models.F('id'), descending=True), condition=models.Q(('read_at__isnull', True)), name='notification_unread_idx'),
                        ],
                        'constraints': [
                            models.CheckConstraint(condition=models.Q(('recipient', models.F('actor')), _negated=True), name='notification_not_self'),
                            models.UniqueConstraint(condition=models.Q(('kind__in', ['LIKE', 'SHARE', 'FOLLOW'])), fields=('recipient', 'kind', 'actor', 'post'), name='notification_once', nulls_distinct=False),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
