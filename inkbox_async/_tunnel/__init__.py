"""The tunnel data plane: an anyio-native HTTP/2 agent."""
