"""Development-only data: the seed (``manage.py seed``) that fills every app's tables with a realistic data set.

It sits above every app (it writes users, posts and interactions, then runs the analytics backfill), and
no app imports it. :mod:`devdata.generator` builds the rows with numpy, :mod:`devdata.loader` COPYs them
into PostgreSQL, :mod:`devdata.management.commands.seed` is the command.
"""
