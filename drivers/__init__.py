"""Device drivers: scanners, scales (and later printers), each with a simulated twin."""
