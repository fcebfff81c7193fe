"""Printable documents (PDF through reportlab) with the embedded CJK font from assets/."""
