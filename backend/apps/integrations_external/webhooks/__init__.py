"""Outgoing webhooks: endpoints, signed deliveries (Standard Webhooks), auto-disable."""
