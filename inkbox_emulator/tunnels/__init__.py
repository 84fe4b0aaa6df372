"""Tunnels, control plane: the tunnel model, its CA and routes (the data plane is ``edge``)."""
