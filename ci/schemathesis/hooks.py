"""Checks of the conformance run beyond schemathesis's own (loaded with SCHEMATHESIS_HOOKS).

The one rule the OpenAPI document states in words, not in a schema keyword: a change in
`POST /v1/changes` that breaks a field rule of `WireChange` is answered 200 with a `rejected`
verdict whose reason is `invalid change (<code>): <message>`, and never applied. This module
must never print a request body: generated changes carry passwords.
"""

import schemathesis

CHANGES_PATH = "/v1/changes"
INVALID_CHANGE = "invalid change ("


@schemathesis.check
def invalid_change_is_rejected(ctx, response, case):
    """A schema-violating batch answered 200 must hold a `rejected` verdict for the bad change."""
    meta = case.meta
    if case.operation.path != CHANGES_PATH or meta is None or not meta.generation.mode.is_negative:
        return None
    if response.status_code != 200:
        return None
    verdicts = response.json().get("verdicts", [])
    rejected = [v for v in verdicts if v.get("verdict") == "rejected" and v.get("reason", "").startswith(INVALID_CHANGE)]
    if not rejected:
        kinds = sorted({v.get("verdict") for v in verdicts})
        raise AssertionError(
            "a schema-violating change was answered 200 without an `invalid change` rejection "
            f"(verdicts: {kinds})"
        )
    return None
