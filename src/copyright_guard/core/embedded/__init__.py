"""Rights reservations embedded in fetched assets: XMP (IPTC/PLUS, TDMRep), C2PA/CAWG (JUMBF),
EPUB package metadata; the container walkers they need."""
