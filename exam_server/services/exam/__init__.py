"""The exam flow at the kiosk: check-in, sittings and answers, in-exam face captures, kiosks, the question store."""
