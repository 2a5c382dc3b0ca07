"""Text rules shared by the desk and what it sends out."""

import re

# Every character str.splitlines() breaks on: \n, \r, \v, \f, \x1c-\x1e, \x85, \u2028, \u2029.
LINE_BREAKS = re.compile(r"\s*[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]+\s*")


def single_line(text: str) -> str:
    """Text for a one-line place (a ticket title, an email subject, a Slack heading): every run of
    line breaks becomes one space, so the text can't start a header or a message line of its own."""
    return LINE_BREAKS.sub(" ", text).strip()
