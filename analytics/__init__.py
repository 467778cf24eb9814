"""Interaction analytics: counts kept in Redis as they happen, folded into hourly PostgreSQL buckets.

Writes are O(1) Redis work, never SQL row locks on a hot post:

- :func:`analytics.writes.record_views` (the ``recordPostViews`` mutation) counts impressions and adds
  the viewer to the post's HyperLogLog of unique viewers.
- :func:`analytics.writes.record_interaction` counts a like/comment/share, or its undo, once the
  transaction that made it commits. The interactions services don't call it (interactions sits below
  analytics): they send ``interactions.signals`` and :mod:`analytics.receivers` answers.

Both land in *pending* per-hour counters in Redis (:mod:`analytics.keys`). :func:`analytics.jobs.flush_stats`
(``manage.py flush_stats``) folds them into :class:`~analytics.models.PostStatsBucket` rows and
``Post.view_count``. Reads (:mod:`analytics.reads`) add the pending counts to what PostgreSQL holds,
so figures are current without waiting for the job. :mod:`analytics.trends` ranks posts and hashtags
from the buckets.
"""
