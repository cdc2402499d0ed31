"""Feedback from SendGrid: the Event Webhook receiver that writes raw `email_events` files.

`webhook` verifies a signed request and turns its events into raw rows (pure), `raw_files`
writes them as a new raw file, `server` is the HTTP server around both (`flywheel webhook`).
"""
