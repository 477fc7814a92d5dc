"""Integrations with the frameworks teams already use. Each lives in its own module and imports
its framework only when that module is imported: ``import aiaudit`` costs nothing for them."""
