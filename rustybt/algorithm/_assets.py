"""Asset look-up for the algorithm: ``symbol``, ``symbols``, ``sid``, ``continuous_future`` and the resolving of
what order/data calls accept (an asset, a symbol or a sid)."""

from __future__ import annotations

import difflib
from typing import Any

import numpy as np

from rustybt.assets import Asset
from rustybt.errors import InvalidArgument, InvalidOrder, SymbolNotFound

__all__ = ["AssetsMixin"]


class AssetsMixin:
    """zipline's asset look-up methods."""

    def _resolve(self, asset: Any) -> Asset:
        if isinstance(asset, Asset):
            return asset
        if type(asset).__name__ == "ContinuousFuture":
            raise InvalidOrder(
                f"{asset!r} is a continuous future: trade its current contract, data.current(cf, 'contract')"
            )
        if isinstance(asset, int | np.integer):
            return self.asset_finder.retrieve_asset(int(asset))
        if isinstance(asset, str):
            return self.symbol(asset)
        raise InvalidArgument(f"expected an asset, a symbol or a sid, got {type(asset).__name__}: {asset!r}")

    def symbol(self, symbol_str: str, country_code: str | None = None) -> Asset:
        """The asset trading as ``symbol_str`` (ccxt's ``BTC/USDT`` and the catalog's ``BTC-USDT`` both work);
        an unknown symbol raises :class:`~rustybt.errors.SymbolNotFound` naming close matches."""
        if not isinstance(symbol_str, str) or not symbol_str:
            raise InvalidArgument(f"symbol must be a non-empty string, got {symbol_str!r}")
        candidates = [symbol_str, symbol_str.replace("/", "-"), symbol_str.replace("-", "/")]
        if ":" in symbol_str:
            candidates.append(symbol_str.split(":")[0].replace("/", "-"))
        finder = self.asset_finder
        for cand in dict.fromkeys(candidates):
            try:
                return finder.lookup_symbol(cand)
            except SymbolNotFound:
                continue
            except KeyError:
                continue
        known = sorted({a.symbol for a in self.bundle.assets})
        close = difflib.get_close_matches(symbol_str.upper().replace("/", "-"), known, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; it holds {len(known)} symbols"
        raise SymbolNotFound(f"symbol {symbol_str!r} is not in bundle {self.bundle.name!r}{hint}")

    def continuous_future(
        self, root_symbol_str: str, offset: int = 0, roll: str = "volume", adjustment: str | None = "mul"
    ):
        """zipline's ``continuous_future``: ``data.current(cf, "contract")`` is the contract to trade,
        ``data.current(cf, "price")`` its price, ``data.history(cf, "price", n, "1d")`` the adjusted series."""
        return self.data_portal.continuous_future(root_symbol_str, offset=offset, roll=roll, adjustment=adjustment)

    def symbols(self, *args: str, **kwargs: Any) -> list[Asset]:
        """The assets of several symbols."""
        return [self.symbol(s, **kwargs) for s in args]

    def sid(self, sid: int) -> Asset:
        """The asset with integer id ``sid``."""
        return self.asset_finder.retrieve_asset(int(sid))
