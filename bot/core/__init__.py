"""The plain-Python core: never imports discord."""
