"""``python -m visionapp.cli``: the same as the ``visionapp`` command."""

from visionapp.cli import main

raise SystemExit(main())
