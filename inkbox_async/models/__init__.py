"""Response models and request options (attrs classes, shared by both flavours)."""

from inkbox_async.models.account import *  # noqa: F403
from inkbox_async.models.account import __all__ as _account
from inkbox_async.models.identities import *  # noqa: F403
from inkbox_async.models.identities import __all__ as _identities
from inkbox_async.models.mail import *  # noqa: F403
from inkbox_async.models.mail import __all__ as _mail
from inkbox_async.models.phone import *  # noqa: F403
from inkbox_async.models.phone import __all__ as _phone
from inkbox_async.models.vault import *  # noqa: F403
from inkbox_async.models.vault import __all__ as _vault

__all__ = [*_account, *_identities, *_mail, *_phone, *_vault]
