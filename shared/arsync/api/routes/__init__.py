"""Routers grouped by the Lambda function that serves them (see template.yaml)."""
