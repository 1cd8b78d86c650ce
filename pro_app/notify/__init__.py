"""Messages to participants: the outbox, its senders and the reminder job."""
