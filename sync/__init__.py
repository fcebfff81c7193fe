"""The station side of the central-server protocol (outbox push, cursor pulls, signing): issue 4."""
