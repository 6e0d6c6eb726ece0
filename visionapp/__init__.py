"""visionapp: real-time computer vision with a Qt window, a processor chain and a batch CLI.

Importing the package is cheap: no Qt, TensorFlow, torch or MediaPipe is imported here.
"""

__version__ = "0.1.0"
