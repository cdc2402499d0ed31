"""E-mails: rendering payload rows with Jinja2 and sending them exactly once."""
