"""RustyBT: a Jupyter-centric research workbench for financial market data."""

from rustybt import errors
from rustybt.config import Config, load_config

__version__ = "0.1.0"

__all__ = ["Config", "__version__", "errors", "load_config"]
