"""Notifications: rules in sources.yaml (``notify:``) tell people, where they already are, the moment
something is recorded.

- :mod:`crawler.notify.rules`: which rules an outbox entry concerns and when its deliveries are due;
- :mod:`crawler.notify.messages`: the messages, in Chinese, for a phone;
- :mod:`crawler.notify.destinations`: apprise URLs, checked and sent to;
- :mod:`crawler.notify.notifier`: the loop every daemon runs, dispatching and sending.

The outbox itself (written with what it tells, in one transaction) is :mod:`storage.outbox`.
"""
