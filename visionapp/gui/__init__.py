"""The PySide6 desktop app: the only package that imports Qt. A thin shell over visionapp.core."""
