"""Pulumi ComponentResources that make up the OpenClaw deployment."""
