"""Errors that the CLI turns into a one-line message instead of a traceback."""


class UserError(Exception):
    """A mistake in the user's input (a flag, a file, a run folder).

    The CLI prints ``rnnlab: error: <message>`` on stderr and exits with status 2.
    Library code raises it where the fix is in the user's hands.
    """
