"""Fetching from the web for ingestion: pages and feeds, safely."""
