"""The exam kiosk: owns the webcam, drives the kiosk API over HTTP, serves the worker's screen."""
