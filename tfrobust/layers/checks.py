"""Argument checks shared by the defense layers' constructors."""

import math
import numbers


def positive_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value > 0


def non_negative_number(value):
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value) and value >= 0)
