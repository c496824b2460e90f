"""The tests' envelope helpers: the simulator's own (``simulator.conversation``), under the names the tests use.

Real Alexa request envelopes, shaped like Amazon's request reference; ``Conversation`` carries session
attributes from one response into the next request, the way Alexa does, and starts a new session
after one ends.
"""

from simulator.conversation import (  # noqa: F401  (re-exported)
    APPLICATION_ID,
    DEVICE_ID,
    USER_ID,
    Conversation,
    envelope,
    exception_encountered,
    intent,
    launch,
    reprompt,
    resolved_slot,
    session_ended,
    skill_disabled,
    speech,
)
