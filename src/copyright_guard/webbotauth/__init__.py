"""Web Bot Auth: the crawler signs its requests so sites can verify it is us (docs/crawler-identity.md).

draft-ietf-webbotauth-httpsig-protocol: HTTP Message Signatures (RFC 9421) with an Ed25519 key over
``@authority`` and ``signature-agent``, ``tag="web-bot-auth"``; the key is published as a JWKS at
``/.well-known/http-message-signatures-directory``. :mod:`.keys` reads and writes keys and builds
the directory; :mod:`.sign` builds the headers of one signed request or directory response.
"""

from .keys import SigningKey, SigningKeyError, generate_key_file, load_signing_key
from .sign import DIRECTORY_MEDIA_TYPE, DIRECTORY_PATH, RequestSigner
from .configured import signer_for_policy

__all__ = ["DIRECTORY_MEDIA_TYPE", "DIRECTORY_PATH", "RequestSigner", "SigningKey", "SigningKeyError",
           "generate_key_file", "load_signing_key", "signer_for_policy"]
