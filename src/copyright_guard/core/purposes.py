"""The one purpose table: which of our purposes a vocabulary's category speaks about.

Every source states preferences in its own words (AIPREF ``train-ai``, Content-Signal
``ai-train``, TDMRep ``tdm-reservation``, IPTC ``DMI-PROHIBITED-AIMLTRAINING``, ...). A signal
keeps those words; :func:`covers` is the only place that maps them onto the purposes a crawl can
declare (``core.model.PURPOSES``): ``train-ai``, ``train-genai``, ``ai-input``, ``search``, ``tdm``.
docs/opt-outs.md ("The purpose table") prints this table; a test keeps the two identical.

Reading of the table (strict, because a missed reservation is the costly error):

- ``train-ai`` (our purpose) means training AI models of any kind, generative ones included, so
  a reservation against generative-AI training also covers it, and the reverse.
- TDM in the sense of CDSM Directive Art. 4 includes AI training and AI input, so TDMRep's
  ``tdm-reservation`` covers ``tdm`` and every AI purpose (not ``search``).
- ``ai-input`` is use of content as model input (RAG, grounding, AIPREF -02 ``ai-use``, -04
  ``ai-output``, -01 ``inference``, C2PA ``ai_inference``, RSL ``ai-input``/``ai-index``).
- Labels naming everything (AIPREF -01 ``tdm``, -02 ``all``, -03/-04 ``bots``, RSL ``all``,
  IPTC ``DMI-PROHIBITED``) cover every purpose.
- AIPREF drafts up to -05 let a more specific label override its parent; we do not: every label
  stands on its own and the most restrictive answer wins (vocab-07 removed the hierarchy).
"""

from __future__ import annotations

from types import MappingProxyType

ALL = frozenset({"train-ai", "train-genai", "ai-input", "search", "tdm"})
TRAINING = frozenset({"train-ai", "train-genai"})
AI = TRAINING | {"ai-input"}
NONE: frozenset[str] = frozenset()

# vocabulary -> category (lower-case, without namespace prefixes) -> purposes it speaks about.
_TABLE: dict[str, dict[str, frozenset[str]]] = {
    # IETF AIPREF vocab-07, plus the labels of earlier drafts still seen in the wild.
    "aipref": {
        "train-ai": TRAINING,  # -02..-07; -07: "model used to generate synthetic content"
        "search": frozenset({"search"}),
        "train-genai": TRAINING,  # -02, -03
        "ai-use": frozenset({"ai-input"}),  # -02 "AI use"
        "ai-output": frozenset({"ai-input"}),  # -04 output generation from the asset
        "inference": frozenset({"ai-input"}),  # -01
        "ai": TRAINING,  # -01 "AI training"
        "genai": TRAINING,  # -01 "generative AI training"
        "tdm": ALL,  # -01 root of the hierarchy: text and data mining of any kind
        "all": ALL,  # -02
        "bots": ALL,  # -03, -04 "automated processing"
    },
    # Cloudflare Content Signals (contentsignals.org); "use" is recorded, it reserves nothing.
    "content-signal": {
        "search": frozenset({"search"}),
        "ai-input": frozenset({"ai-input"}),
        "ai-train": TRAINING,
        "use": NONE,
    },
    # W3C TDMRep: an Art. 4 CDSM reservation covers mining, AI training and AI input.
    "tdmrep": {"tdm-reservation": frozenset({"tdm"}) | AI},
    # Spawning ai.txt: a Disallow is an opt-out of AI datasets and AI use.
    "ai-txt": {"disallow": AI},
    # RSL 1.0 usage vocabulary (§3.4.1.1); its own templates also use the IETF "train-ai".
    "rsl": {
        "all": ALL,
        "ai-all": AI,  # = ai-train + ai-input + ai-index
        "ai-train": TRAINING,
        "train-ai": TRAINING,
        "ai-input": frozenset({"ai-input"}),
        "ai-index": frozenset({"ai-input"}),  # an index answering with AI-generated results
        "search": frozenset({"search"}),
    },
    # DeviantArt / Spawning conventions in X-Robots-Tag and <meta name="robots">. noimageai only
    # reaches this table for image responses (core/signals/assets.py decides what an image is).
    "robots-meta": {"noai": AI, "noimageai": AI},
    # A robots.txt block for a well-known AI-training crawler (the category is the token).
    "peer-token": {"*": TRAINING | {"tdm"}},
    # IPTC Photo Metadata 2023.1 plus:DataMining values.
    "iptc": {
        "dmi-allowed": ALL,
        "dmi-unspecified": NONE,
        "dmi-prohibited-aimltraining": TRAINING,
        "dmi-prohibited-genaimltraining": TRAINING,
        "dmi-prohibited-exceptsearchengineindexing": ALL - {"search"},
        "dmi-prohibited": ALL,
        # The constraint lives in a rights expression we do not read: prohibited for everything.
        "dmi-prohibited-seeconstraint": ALL,
        "dmi-prohibited-seeembeddedrightsexpr": ALL,
        "dmi-prohibited-seelinkedrightsexpr": ALL,
    },
    # C2PA 1.x "c2pa.training-mining" and CAWG 1.1 "cawg.training-mining" entries.
    "c2pa": {
        "ai_training": TRAINING,
        "ai_generative_training": TRAINING,
        "ai_inference": frozenset({"ai-input"}),
        "data_mining": frozenset({"tdm"}),
    },
}

TABLE = MappingProxyType({v: MappingProxyType(c) for v, c in _TABLE.items()})

_PREFIXES = ("http://ns.useplus.org/ldf/vocab/", "c2pa.", "cawg.")


def normalise(vocabulary: str, category: str) -> str:
    """The table key for a category: lower-case, without IPTC/C2PA/CAWG namespace prefixes."""
    key = category.strip().lower()
    if vocabulary == "peer-token":
        return "*"
    for prefix in _PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix):]
    return key


def purposes_of(vocabulary: str, category: str) -> frozenset[str]:
    """Every purpose a category speaks about; empty for unknown vocabularies and categories."""
    return TABLE.get(vocabulary, {}).get(normalise(vocabulary, category), NONE)


def covers(vocabulary: str, category: str, purpose: str) -> bool:
    """Does a statement about ``category`` (in ``vocabulary``'s words) apply to ``purpose``?"""
    return purpose in purposes_of(vocabulary, category)


def known(vocabulary: str, category: str) -> bool:
    """Is ``category`` a label of ``vocabulary`` we understand? (Unknown labels are ignored.)"""
    return normalise(vocabulary, category) in TABLE.get(vocabulary, {})
