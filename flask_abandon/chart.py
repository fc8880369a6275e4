"""A bar chart of abandonment rates, drawn as inline SVG on the server.

No script and no CDN: the dashboard reads the same offline, printed, or with
JavaScript turned off.
"""

from __future__ import annotations

import typing as t

from markupsafe import Markup

WIDTH = 720
HEIGHT = 240
#: Room for the axis labels around the plot.
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 16, 40


class Bar(t.NamedTuple):
    """One bar: its label under the axis, its rate, and the counts behind it."""

    label: str
    rate: float | None
    title: str


def rate_chart(bars: t.Sequence[Bar], caption: str) -> Markup:
    """Draw ``bars`` (rates from 0 to 1) as an accessible SVG bar chart.

    A bar without a rate (nothing started that week) is drawn as "n/a".
    """
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    slot = plot_width / max(len(bars), 1)
    parts = [
        Markup(
            '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}"'
            ' width="100%" role="img" aria-label="{caption}"'
            ' font-family="sans-serif" font-size="11">'
        ).format(w=WIDTH, h=HEIGHT, caption=caption),
        Markup("<title>{}</title>").format(caption),
    ]

    # Grid lines every 25 %, labelled on the left.
    for step in range(5):
        y = TOP + plot_height * (1 - step / 4)
        parts.append(
            Markup(
                '<line x1="{x1}" y1="{y:.1f}" x2="{x2}" y2="{y:.1f}"'
                ' stroke="#dee2e6"/>'
                '<text x="{tx}" y="{ty:.1f}" text-anchor="end"'
                ' fill="#6c757d">{label}%</text>'
            ).format(x1=LEFT, x2=WIDTH - RIGHT, y=y, tx=LEFT - 6, ty=y + 4,
                     label=step * 25)
        )

    for index, bar in enumerate(bars):
        x = LEFT + slot * index
        centre = x + slot / 2
        parts.append(Markup("<g><title>{}</title>").format(bar.title))

        if bar.rate is None:
            parts.append(
                Markup(
                    '<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle"'
                    ' fill="#6c757d">n/a</text>'
                ).format(x=centre, y=TOP + plot_height - 4)
            )
        else:
            height = plot_height * min(max(bar.rate, 0.0), 1.0)
            parts.append(
                Markup(
                    '<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}"'
                    ' height="{h:.1f}" fill="#d9534f" rx="2"/>'
                    '<text x="{cx:.1f}" y="{ty:.1f}" text-anchor="middle"'
                    ' fill="#212529">{pct:.0f}%</text>'
                ).format(x=x + slot * 0.15, y=TOP + plot_height - height,
                         w=slot * 0.7, h=height, cx=centre,
                         ty=TOP + plot_height - height - 4, pct=bar.rate * 100)
            )

        parts.append(
            Markup(
                '<text x="{x:.1f}" y="{y}" text-anchor="middle"'
                ' fill="#495057">{label}</text></g>'
            ).format(x=centre, y=HEIGHT - BOTTOM + 16, label=bar.label)
        )

    parts.append(
        Markup(
            '<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="#495057"/></svg>'
        ).format(x1=LEFT, x2=WIDTH - RIGHT, y=TOP + plot_height)
    )
    return Markup("").join(parts)


def percent(rate: float | None) -> str:
    """A rate as the dashboard writes it: ``"42.9 %"``, or ``"n/a"``."""
    if rate is None:
        return "n/a"

    return f"{rate * 100:.1f} %"

