"""A header plan for examples: one new frame made from the template."""

from __future__ import annotations

from ._encoding import Encoding
from ._plan import FramePlan, PlanBuilder

__all__ = ["example_plan"]


def example_plan() -> FramePlan:
    """The plan of one new 4 x 4 frame made from the template (for examples).

    Examples
    --------
    >>> plan = example_plan()
    >>> plan.bytes_ok, plan.sop_class == "1.2.840.10008.5.1.4.1.1.4", len(plan.layers)
    (True, True, 6)
    """
    builder = PlanBuilder(
        target={},
        attrs={},
        series_uid="1.2.826.0.1.3680043.8.498.1",
        description=None,
        sources=[],
        shape=(4, 4),
        encoding=Encoding("uint16", 1.0, 0.0, True),
        window=(0.0, 100.0),
        keep_new=(),
        levels={},
    )
    return builder.frame([], "1.2.826.0.1.3680043.8.498.2", {}, {}, 1)
