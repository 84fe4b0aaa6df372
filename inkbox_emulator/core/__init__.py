"""The emulator's core: app assembly, store, clock, validation, errors, routing, recording, faults and the control API."""
