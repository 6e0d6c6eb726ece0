"""Start the visionapp window: ``python main.py [--source SPEC] [-p PROCESSOR ...]``."""

from visionapp.gui.app import main

if __name__ == "__main__":
    raise SystemExit(main())
