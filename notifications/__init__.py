"""Notifications: who did what to your posts and comments, who followed or mentioned you.

Made by receivers (notifications/receivers.py) answering the signals of users, feed and interactions,
inside the sender's transaction; the ``notification_created`` realtime event goes out after commit.
"""
