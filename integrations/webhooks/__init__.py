"""Outbound webhooks: REST-hook subscriptions, signed deliveries, retries (Standard Webhooks)."""
