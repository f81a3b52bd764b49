"""Errors whose messages are shown to users verbatim; everything else is logged, not shown."""


class UserError(Exception):
    """A problem the user can act on; its message is displayed as it is."""


class InputError(UserError):
    """The input (a file, a question, an id) cannot be used."""


class NotFoundError(UserError):
    """The thing asked for does not exist."""


class OfflineError(UserError):
    """A network call was attempted while offline mode is on."""
