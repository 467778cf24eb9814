"""The PostgreSQL backend of config/settings.py (``ENGINE = "common.postgres"``): Django's, faster at loading times."""
