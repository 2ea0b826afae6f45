"""Cancel policies under zipline's module name (``zipline.finance.cancel_policy``)."""

from rustybt.finance.blotter import EODCancel, NeverCancel

__all__ = ["EODCancel", "NeverCancel"]
