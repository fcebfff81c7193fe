"""Evidence packs (docs/architecture.md §9.2) and packing photos (§4.4).

`service.build_evidence` writes the PDFs; `collect` gathers an order's history, `sla` judges its times,
`pdf` draws; `photo` stores packing stills and audits their hashes. Nothing here imports reportlab at
module level, nor anything from `drivers/`.
"""
