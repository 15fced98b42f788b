"""The TwiML around a Media Stream, and Twilio's request signature.

`connect_stream_twiml` is what voicebot answers on Twilio's voice webhook: a
bidirectional `<Connect><Stream>` to voicebot's media path, with the caller's numbers (and
the media token, if one is set) as `<Parameter>`s, because a `<Stream>` URL cannot carry
a query string. Its `action` URL is where Twilio asks what to do once the stream ends.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from xml.sax.saxutils import quoteattr

HANGUP_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>'


def connect_stream_twiml(stream_url: str, action_url: str, params: Mapping[str, str]) -> str:
    parameters = "".join(
        f"<Parameter name={quoteattr(k)} value={quoteattr(v)}/>" for k, v in params.items() if v
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        f"<Connect action={quoteattr(action_url)}>"
        f"<Stream url={quoteattr(stream_url)}>{parameters}</Stream>"
        "</Connect></Response>"
    )


def signature(auth_token: str, url: str, form: Mapping[str, str]) -> str:
    """X-Twilio-Signature of a POST: HMAC-SHA1 over the URL and the form's sorted
    name+value pairs, base64 (Twilio's "Webhooks security")."""
    data = url + "".join(k + form[k] for k in sorted(form))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")
