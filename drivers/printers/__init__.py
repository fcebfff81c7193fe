"""Label printers: renderers (label model → printer language) and connectors (bytes → device)."""
