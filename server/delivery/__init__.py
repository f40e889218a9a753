"""Getting alerts to people: the notification outbox, its sender, the words of a message, one-tap links."""
