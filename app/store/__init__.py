"""The station's local SQLite store: models, migrations, open/backup."""

from app.store.db import Store, StoreError, StoreTooNewError, open_store, store_path

__all__ = ["Store", "StoreError", "StoreTooNewError", "open_store", "store_path"]
