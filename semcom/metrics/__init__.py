"""Metrics: image quality, perceptual distance, classifier accuracy, curves, robustness."""
