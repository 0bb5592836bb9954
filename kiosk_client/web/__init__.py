"""The worker's screen: a local web app on the loopback interface, shown full screen by a kiosk browser."""
