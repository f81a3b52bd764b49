"""Market data: live quotes, daily history, premise checks and charts."""
