"""W3C trace context for Python Pyro5, compatible with Pyro for Deno's OpenTelemetry spans.

Pyro for Deno sends the caller's trace context in the annotation "W3TC": the W3C traceparent
("00-<trace id>-<parent span id>-<flags>", ASCII), then, if there is one, a newline and the
tracestate. Pyro5 passes annotations it does not know through untouched, so a Python daemon
can read it, log the trace id, continue the trace in the calls it makes, and answer with its
own span's context.

Use it inside an exposed method:

    with tracing.server_span() as span:
        log.info("serving, trace id %s", span.trace_id)
        with Pyro5.api.Proxy(uri) as other:
            span.propagate()            # the next calls of this thread carry our span
            other.echo("hello")
        span.reply()                    # the reply carries our span (after nested calls)

With the opentelemetry-api package, hand span.traceparent to its propagator instead
(TraceContextTextMapPropagator().extract({"traceparent": ...})) to make real spans.
"""
import logging
import re
import secrets

from Pyro5.api import current_context

KEY = "W3TC"
_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-|$)")
log = logging.getLogger("tracing")


def parse(value):
    """The (trace id, span id, flags, tracestate) of an annotation value, or None."""
    try:
        text = bytes(value).decode("ascii")
    except (TypeError, UnicodeDecodeError):
        return None
    parent, _, state = text.partition("\n")
    m = _TRACEPARENT.match(parent)
    if m is None or m.group(1) == "ff" or (m.group(1) == "00" and m.group(5)):
        return None
    trace_id, span_id, flags = m.group(2), m.group(3), m.group(4)
    if int(trace_id, 16) == 0 or int(span_id, 16) == 0:
        return None
    return trace_id, span_id, flags, state.strip()


class Span:
    """This process's span of a call: the caller's trace id (or a new one) and a new span id."""

    def __init__(self, incoming):
        if incoming is None:
            self.trace_id, self.parent_id, self.flags, self.state = secrets.token_hex(16), None, "01", ""
        else:
            self.trace_id, self.parent_id, self.flags, self.state = incoming
        self.span_id = secrets.token_hex(8)

    @property
    def traceparent(self):
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"

    def annotation(self):
        text = self.traceparent + (f"\n{self.state}" if self.state else "")
        return text.encode("ascii")

    def propagate(self):
        """Makes the calls this thread sends from now on carry this span as their parent."""
        current_context.annotations = dict(current_context.annotations or {})
        current_context.annotations[KEY] = self.annotation()

    def reply(self):
        """Puts this span into the reply (call it last: nested calls reset the reply's annotations)."""
        current_context.response_annotations[KEY] = self.annotation()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def server_span():
    """Starts this daemon's span of the current call and logs its ids."""
    span = Span(parse(current_context.annotations.get(KEY, b"")))
    log.info("trace_id=%s span_id=%s parent_span_id=%s", span.trace_id, span.span_id, span.parent_id)
    return span
