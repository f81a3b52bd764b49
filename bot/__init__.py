"""marketbot: explains market moves from a cited corpus of news and price data."""

__version__ = "0.1.0"
