"""Protocol codecs shared by the SDK's tunnel agent and the emulator's edge.

Pure code, no I/O, and nothing of the SDK (its resources, models, converter)
or the emulator: each codec lives here once and both sides import it.

* :mod:`inkbox_wire.h2_engine`: an HTTP/2 connection's frames and state
  (RFC 9113), with its two roles in :mod:`inkbox_wire.h2_client` (the
  agent) and :mod:`inkbox_wire.h2_server` (the edge);
* :mod:`inkbox_wire.hpack_codec`: HPACK (RFC 7541), over the fixed tables
  of :mod:`inkbox_wire.hpack_tables` and :mod:`inkbox_wire.huffman`;
* :mod:`inkbox_wire.ws_frames`: WebSocket frames (RFC 6455) and the
  bridge's length-prefixed JSON envelopes.
"""
