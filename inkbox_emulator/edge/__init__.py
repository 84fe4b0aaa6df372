"""The tunnel edge (data plane): agents dial its TLS port, third parties its public listener.

``server`` runs the listeners (:class:`~inkbox_emulator.edge.server.TunnelEdge`),
``agent`` speaks HTTP/2 with a connected agent, ``hub`` matches public requests
to parked intakes, ``public`` and ``http1`` serve third parties over HTTP/1.1,
``passthrough`` and ``sni`` hand raw TLS of passthrough tunnels through,
``bridges`` pumps WebSocket and TCP bridges, ``faults`` holds injected edge
faults. The codecs come from ``inkbox_wire``.
"""
