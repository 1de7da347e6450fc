"""Resident web pages (phone first)."""
