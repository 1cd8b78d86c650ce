"""The participant-facing questionnaire: personal link, items, review, submit."""
