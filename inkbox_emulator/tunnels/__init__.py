"""Tunnels, control plane: the tunnel model, its CA and routes (the data plane is the ``_edge*`` modules)."""
