"""The reference central server (FastAPI + peewee): issue 4."""
