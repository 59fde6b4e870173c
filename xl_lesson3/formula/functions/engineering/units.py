"""CONVERT's unit table: Excel's unit names, their size in a base unit per quantity, prefixes.

Factors are Excel's own (from its CONVERT documentation and saved workbooks): e.g. the foot
is 0.3048 m, the BTU 1055.05585262 J (IT), the horsepower 745.69987158227 W. Temperatures are
affine and handled apart. Metric units take decimal prefixes (``km``, ``mg``, ``kPa``; squared
or cubed with the unit in ``km2``/``cm3``), bits and bytes also binary ones (``kibyte``).
Which units take a prefix is Excel's list, `PREFIXABLE`.
"""

from __future__ import annotations

# quantity -> {unit: size in the quantity's base unit}
UNITS: dict[str, dict[str, float]] = {
    "mass": {
        "g": 1.0,
        "sg": 14593.9029372064,
        "lbm": 453.59237,
        "u": 1.660538782e-24,
        "ozm": 28.349523125,
        "grain": 0.06479891,
        "cwt": 45359.237,
        "shweight": 45359.237,
        "uk_cwt": 50802.34544,
        "lcwt": 50802.34544,
        "hweight": 50802.34544,
        "stone": 6350.29318,
        "ton": 907184.74,
        "uk_ton": 1016046.9088,
        "LTON": 1016046.9088,
        "brton": 1016046.9088,
    },
    "distance": {
        "m": 1.0,
        "mi": 1609.344,
        "Nmi": 1852.0,
        "in": 0.0254,
        "ft": 0.3048,
        "yd": 0.9144,
        "ang": 1e-10,
        "ell": 1.143,
        "ly": 9460730472580800.0,
        "parsec": 30856775812815500.0,
        "pc": 30856775812815500.0,
        "Picapt": 0.0254 / 72,
        "Pica": 0.0254 / 72,
        "pica": 0.0254 / 6,
        "survey_mi": 1609.34721869444,
    },
    "time": {
        "yr": 31557600.0,
        "day": 86400.0,
        "d": 86400.0,
        "hr": 3600.0,
        "mn": 60.0,
        "min": 60.0,
        "sec": 1.0,
        "s": 1.0,
    },
    "pressure": {
        "Pa": 1.0,
        "p": 1.0,
        "atm": 101325.0,
        "at": 101325.0,
        "mmHg": 133.322,
        "psi": 6894.75729316836,
        "Torr": 133.322368421053,
    },
    "force": {"N": 1.0, "dyn": 1e-5, "dy": 1e-5, "lbf": 4.4482216152605, "pond": 0.00980665},
    "energy": {
        "J": 1.0,
        "e": 1e-7,
        "c": 4.184,
        "cal": 4.1868,
        "eV": 1.602176487e-19,
        "ev": 1.602176487e-19,
        "HPh": 2684519.53769617,
        "hh": 2684519.53769617,
        "Wh": 3600.0,
        "wh": 3600.0,
        "flb": 1.3558179483314003,
        "BTU": 1055.05585262,
        "btu": 1055.05585262,
    },
    "power": {"HP": 745.69987158227, "h": 745.69987158227, "PS": 735.49875, "W": 1.0, "w": 1.0},
    "magnetism": {"T": 1.0, "ga": 1e-4},
    "volume": {
        "l": 1e-3,
        "L": 1e-3,
        "lt": 1e-3,
        "m3": 1.0,
        "tsp": 4.92892159375e-6,
        "tspm": 5e-6,
        "tbs": 1.478676478125e-5,
        "oz": 2.95735295625e-5,
        "cup": 2.365882365e-4,
        "pt": 4.73176473e-4,
        "us_pt": 4.73176473e-4,
        "uk_pt": 5.6826125e-4,
        "qt": 9.46352946e-4,
        "uk_qt": 1.1365225e-3,
        "gal": 3.785411784e-3,
        "uk_gal": 4.54609e-3,
        "ang3": 1e-30,
        "barrel": 0.158987294928,
        "bushel": 0.03523907016688,
        "ft3": 0.028316846592,
        "in3": 1.6387064e-5,
        "yd3": 0.764554857984,
        "mi3": 4168181825.44058,
        "ly3": 8.46786664623715e47,
        "Nmi3": 6352182208.0,
        "MTON": 1.13267386368,
        "GRT": 2.8316846592,
        "regton": 2.8316846592,
        "Picapt3": (0.0254 / 72) ** 3,
        "Pica3": (0.0254 / 72) ** 3,
    },
    "area": {
        "m2": 1.0,
        "mi2": 2589988.110336,
        "Nmi2": 3429904.0,
        "in2": 6.4516e-4,
        "ft2": 0.09290304,
        "yd2": 0.83612736,
        "ang2": 1e-20,
        "ar": 100.0,
        "ha": 10000.0,
        "uk_acre": 4046.8564224,
        "us_acre": 4046.87260987425,
        "Morgen": 2500.0,
        "ly2": 8.95054210748189e31,
        "Picapt2": (0.0254 / 72) ** 2,
        "Pica2": (0.0254 / 72) ** 2,
    },
    "information": {"bit": 1.0, "byte": 8.0},
    "speed": {
        "m/s": 1.0,
        "m/sec": 1.0,
        "m/h": 1 / 3600,
        "m/hr": 1 / 3600,
        "mph": 0.44704,
        "kn": 0.514444444444444,
        "admkn": 0.514773333333333,
    },
}

# The units Excel accepts a prefix on (read from Excel's own results, formulas' test.xlsx).
PREFIXABLE = frozenset(
    [
        "g",
        "u",
        "m",
        "ang",
        "ly",
        "parsec",
        "pc",
        "sec",
        "s",
        "Pa",
        "p",
        "atm",
        "at",
        "mmHg",
        "N",
        "dyn",
        "dy",
        "J",
        "e",
        "c",
        "cal",
        "eV",
        "ev",
        "Wh",
        "wh",
        "W",
        "w",
        "T",
        "ga",
        "K",
        "kel",
        "uk_pt",
        "l",
        "L",
        "lt",
        "ang3",
        "ang2",
        "ar",
        "m2",
        "m3",
        "bit",
        "byte",
        "m/h",
        "m/hr",
        "m/s",
        "m/sec",
        "mph",
    ]
)
PREFIXES = {
    "Y": 1e24,
    "Z": 1e21,
    "E": 1e18,
    "P": 1e15,
    "T": 1e12,
    "G": 1e9,
    "M": 1e6,
    "k": 1e3,
    "h": 1e2,
    "da": 1e1,
    "d": 1e-1,
    "c": 1e-2,
    "m": 1e-3,
    "u": 1e-6,
    "n": 1e-9,
    "p": 1e-12,
    "f": 1e-15,
    "a": 1e-18,
    "z": 1e-21,
    "y": 1e-24,
    "e": 1e1,  # Excel also reads "e" as deka
}
BINARY_PREFIXES = {
    "ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
    "Pi": 2.0**50,
    "Ei": 2.0**60,
    "Zi": 2.0**70,
    "Yi": 2.0**80,
}

# Temperatures: (scale, offset) to kelvin, K = x*scale + offset.
TEMPERATURES = {
    "C": (1.0, 273.15),
    "cel": (1.0, 273.15),
    "F": (5 / 9, 273.15 - 32 * 5 / 9),
    "fah": (5 / 9, 273.15 - 32 * 5 / 9),
    "K": (1.0, 0.0),
    "kel": (1.0, 0.0),
    "Rank": (5 / 9, 0.0),
    "Reau": (1.25, 273.15),
}


def unit_sizes(name: str) -> list[tuple[str, float]]:
    """Every (quantity, size in the base unit) a unit name can mean, the plain unit first.

    Excel reads a prefix on the units in `PREFIXABLE` (also ``Emph``, ``kar``), squared and
    cubed units take it squared and cubed (``km2``), ``x^2``/``x^3`` are ``x2``/``x3``, and an
    ambiguous name is settled by the other unit (``pc`` is a parsec, or a picocalorie when
    converted to joules).
    """
    name = name.replace("^2", "2").replace("^3", "3")
    found = [(q, units[name]) for q, units in UNITS.items() if name in units]
    for prefixes in (PREFIXES, BINARY_PREFIXES):
        for prefix, factor in prefixes.items():
            base = name[len(prefix) :]
            if not name.startswith(prefix) or base not in PREFIXABLE:
                continue
            if prefixes is BINARY_PREFIXES and base not in ("bit", "byte"):
                continue
            power = 3 if base.endswith("3") else 2 if base.endswith("2") else 1
            found += [
                (q, units[base] * factor**power) for q, units in UNITS.items() if base in units
            ]
    return found


def _temperature(name: str) -> tuple[float, float] | None:
    """(scale, offset) to kelvin of a temperature unit; kelvin also takes prefixes (``mK``)."""
    if name in TEMPERATURES:
        return TEMPERATURES[name]
    for prefix, factor in PREFIXES.items():
        if name.startswith(prefix) and name[len(prefix) :] in ("K", "kel"):
            return (factor, 0.0)
    return None


def conversion(from_unit: str, to_unit: str) -> tuple[float, float] | None:
    """(scale, offset) with ``to = from*scale + offset``, or None when the units do not fit."""
    source_t, target_t = _temperature(from_unit), _temperature(to_unit)
    if source_t is not None and target_t is not None:
        (s1, o1), (s2, o2) = source_t, target_t
        return s1 / s2, (o1 - o2) / s2
    for quantity, size in unit_sizes(from_unit):
        for other, target in unit_sizes(to_unit):
            if other == quantity:
                return size / target, 0.0
    return None
