#!/usr/bin/env python
"""Django's command-line utility for supportdesk."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
    from django.core.management import execute_from_command_line

    from supportdesk.config import UnsafeSettings, refuse_to_start

    try:
        execute_from_command_line(sys.argv)
    except UnsafeSettings as exc:
        refuse_to_start(exc)
    except BrokenPipeError:
        # `manage.py ticket show 3 | head`: the reader stopped reading, which is no error of ours.
        # Point stdout at /dev/null so that flushing it at exit doesn't raise a second time.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
