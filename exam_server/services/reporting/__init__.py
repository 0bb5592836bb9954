"""Reporting: participation and pass figures, the dashboard, CSV and XLSX exports."""
