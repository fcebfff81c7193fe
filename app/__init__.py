"""PackBench domain core: store, importers, barcodes, pack flow, labels, audit. No Qt, no drivers."""
