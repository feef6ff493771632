"""Location- and header-based opt-out vocabularies (TDMRep, AIPREF Content-Usage, Content-Signal,
ai.txt, RSL, noai), the HTML head scanner, access restrictions and licences."""
