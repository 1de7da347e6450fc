"""Notifications: events from the billing outbox turned into SMS and WeChat messages (a later issue).

The package exists so that the import contracts already hold it to its place in the layers.
"""
