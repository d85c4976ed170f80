"""Accounting-system connectors: one adapter per system behind one port, plus the shared error catalog."""
