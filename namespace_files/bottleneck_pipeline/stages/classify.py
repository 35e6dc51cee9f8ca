"""Stage 5, classify: z-score of the price over the merged products; premium when z > threshold.

The standard deviation is the population one (ddof = 0): the merged products are the whole
catalogue sold this month, not a sample of it. (On the real files both conventions give the same
30 premium wines; the README says so.) When every price is the same (one product, or all prices
equal) the standard deviation is 0 and z is defined as 0 for every wine: nobody stands out, so no
wine is premium. Decided on the prices themselves, not on a float std that rounding can leave at
1e-15 (which would give every wine z = +-1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

DEFAULT_Z_THRESHOLD = 2.0


@dataclass(frozen=True)
class PriceStats:
    mean: float
    std: float
    count: int


def price_values(revenue: pa.Table) -> np.ndarray:
    return revenue["price_eur"].cast(pa.float64()).to_numpy()


def price_stats(prices: np.ndarray) -> PriceStats:
    if len(prices) == 0:  # the merge gate stops an empty month before this; stay defined anyway
        return PriceStats(mean=0.0, std=0.0, count=0)
    if prices.min() == prices.max():  # one price for all: std is exactly 0, not rounding noise
        return PriceStats(mean=float(prices[0]), std=0.0, count=len(prices))
    return PriceStats(mean=float(prices.mean()), std=float(prices.std(ddof=0)), count=len(prices))


def z_scores(prices: np.ndarray, stats: PriceStats) -> np.ndarray:
    if stats.std == 0:  # every price equal: nobody stands out
        return np.zeros_like(prices)
    return (prices - stats.mean) / stats.std


def premium_flags(z: np.ndarray, threshold: float) -> np.ndarray:
    return z > threshold


def premium_cutoff_price(stats: PriceStats, threshold: float) -> float:
    """The price above which a wine is premium: mean + threshold x std."""
    return stats.mean + threshold * stats.std


def classify(revenue: pa.Table, threshold: float = DEFAULT_Z_THRESHOLD) -> tuple[pa.Table, PriceStats]:
    """The revenue table with ``z_score`` and ``is_premium`` columns appended."""
    prices = price_values(revenue)
    stats = price_stats(prices)
    z = z_scores(prices, stats)
    flags = premium_flags(z, threshold)
    classified = revenue.append_column("z_score", pa.array(z, pa.float64()))
    return classified.append_column("is_premium", pa.array(flags, pa.bool_())), stats
