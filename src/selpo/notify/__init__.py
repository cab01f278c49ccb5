"""Notifications: the transactional outbox, webhook subscriptions and delivery, the SMS gateway."""
