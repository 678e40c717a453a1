"""Re-export of :mod:`optrun.schema` (moved one layer down in 0.2 so data generators and
objectives can use signature-as-schema too)."""

from optrun.schema import *  # noqa: F401,F403
from optrun.schema import _adapter, _bounds_text, _fmt  # noqa: F401
