"""One module per corpus source; each exposes `build(out, work, name) -> dict`: it writes the files into
`out`, may use the scratch folder `work`, and returns what goes into source.json (the source.json metadata)."""
