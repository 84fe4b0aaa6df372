"""Response models and request options (attrs classes, shared by both flavours).

The submodules load on first use: ``inkbox_async.models.mail`` etc. can be
imported directly, and a name taken from this package loads its submodule.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from inkbox_async.models.account import *  # noqa: F403
    from inkbox_async.models.contacts import *  # noqa: F403
    from inkbox_async.models.identities import *  # noqa: F403
    from inkbox_async.models.mail import *  # noqa: F403
    from inkbox_async.models.notes import *  # noqa: F403
    from inkbox_async.models.phone import *  # noqa: F403
    from inkbox_async.models.vault import *  # noqa: F403
    from inkbox_async.models.webhooks import *  # noqa: F403

_SUBMODULES = ("account", "identities", "mail", "phone", "vault", "contacts", "notes", "webhooks")


def __getattr__(name: str) -> Any:
    import importlib

    for submodule in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{submodule}")
        if name in module.__all__:
            value = getattr(module, name)
            globals()[name] = value
            return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
