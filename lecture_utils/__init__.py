"""Shared code of Lecture 05 "Segmentation and detection"."""
__version__ = "0.1.0"
