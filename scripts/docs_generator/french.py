"""French numbers, money, percentages and plurals, as the deck writes them.

Thousands are separated by a no-break space and decimals by a comma (``179 361,09 €``); a number
and its unit or noun are joined by a no-break space, so a line never breaks between them.
"""

from __future__ import annotations

import re
from decimal import Decimal

NBSP = "\u00a0"


def fr_number(value, decimals: int = 0) -> str:
    """French number: non-breaking space between thousands, comma before decimals."""
    text = f"{Decimal(str(value)):,.{decimals}f}"
    return text.replace(",", NBSP).replace(".", ",")


def fr_euros(value, decimals: int = 2) -> str:
    return f"{fr_number(value, decimals)}{NBSP}€"


def fr_percent(part, whole) -> str:
    return f"{fr_number(Decimal(str(part)) * 100 / Decimal(str(whole)) if whole else 0, 1)}{NBSP}%"


def fr_signed(value, decimals: int = 2, unit: str = "") -> str:
    """'+7 250,00 €', '−3,5 %', '0': the sign always written (a minus sign, not a hyphen)."""
    number = Decimal(str(value))
    sign = "+" if number > 0 else "\u2212" if number < 0 else ""
    text = sign + fr_number(abs(number), decimals)
    return f"{text}{NBSP}{unit}" if unit else text


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """'0 avertissement', '1 avertissement', '2 avertissements' (French: 0 and 1 are singular).

    By default every word takes an 's' unless it ends in s, x or z ('contrôle réussi' ->
    'contrôles réussis'); give ``plural_form`` otherwise ('vin premium' -> 'vins premium').
    """
    if plural_form is None:
        plural_form = " ".join(w if w.endswith(("s", "x", "z")) else w + "s" for w in singular.split(" "))
    return f"{fr_number(count)}{NBSP}{singular if abs(count) < 2 else plural_form}"


def french_list(items: list[str]) -> str:
    """'a', 'a et b', 'a, b et c'."""
    return " et ".join([", ".join(items[:-1]), items[-1]]) if len(items) > 1 else "".join(items)


_PLURAL_MARK = re.compile(r"\(s\)")
_NUMBER = re.compile(r"\d[\d\u00a0\u202f ]*(?:,\d+)?")


def resolve_plural_marks(text: str) -> str:
    """'1 prix négatif(s)' -> '1 prix négatif', '7 lien(s)' -> '7 liens': each '(s)' follows the
    nearest number before it (the pipeline's messages write '(s)'; the deck writes plurals)."""

    def one(match: re.Match) -> str:
        numbers = _NUMBER.findall(text[: match.start()])
        if not numbers:
            return "s"
        value = Decimal(re.sub(r"[\u00a0\u202f ]", "", numbers[-1]).replace(",", "."))
        return "" if value < 2 else "s"

    return _PLURAL_MARK.sub(one, text)
