"""The e-mail programme report: one HTML page for the people who own the automated e-mails."""
