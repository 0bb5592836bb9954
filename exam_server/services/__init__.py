"""Domain services shared by the console, the kiosk API and the CLI."""
