"""In-app notifications: an inbox per person, each notification also sent by e-mail."""
