"""Panel and variable builders shared by Stoker's dashboards, on top of grafana_foundation_sdk.

Every query goes to the data source the ``datasource`` variable picks, so one JSON file serves any
Prometheus. Panel ids and query refIds are assigned here, so the JSON stays the same from run to run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from grafana_foundation_sdk.builders import bargauge, common, stat, timeseries
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import prometheus as prom
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import prometheus as pm

DATASOURCE = dm.DataSourceRef(type_val="prometheus", uid="${datasource}")
QUEUE = 'queue=~"$queue"'  # the label matcher of the queue variable
RATE = "[$__rate_interval]"  # Grafana's window for rate(): at least four scrape intervals
QUANTILES = (0.5, 0.95, 0.99)

PanelBuilder = timeseries.Panel | stat.Panel | bargauge.Panel
Row = tuple[str, Sequence[PanelBuilder]]


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""
    instant: bool = False
    heatmap: bool = False


def quantiles(metric: str, by: str, matchers: str = "") -> list[Query]:
    """p50/p95/p99 of a histogram ``metric`` per ``by`` label, from the rates of its buckets."""
    selector = f"{metric}_bucket{{{matchers}}}" if matchers else f"{metric}_bucket"
    return [
        Query(
            f"histogram_quantile({q}, sum by ({by}, le) (rate({selector}[$__rate_interval])))",
            f"p{round(q * 100)} {{{{{by}}}}}",
        )
        for q in QUANTILES
    ]


def _targets(panel: PanelBuilder, queries: Sequence[Query]) -> None:
    for ref, query in zip("ABCDEFGH", queries, strict=False):
        target = prom.Dataquery().expr(query.expr).legend_format(query.legend or "__auto").ref_id(ref)
        target = target.instant() if query.instant else target.range()
        if query.heatmap:
            target = target.format(pm.PromQueryFormat.HEATMAP)
        panel.with_target(target)


def _thresholds(*steps: tuple[float | None, str]) -> dash.ThresholdsConfig:
    return (
        dash.ThresholdsConfig()
        .mode(dm.ThresholdsMode.ABSOLUTE)
        .steps([dm.Threshold(value=value, color=color) for value, color in steps])
    )


def graph(
    title: str,
    description: str,
    queries: Sequence[Query],
    *,
    unit: str = "short",
    width: int = 12,
    stack: bool = False,
    threshold: float | None = None,
    max_value: float | None = None,
) -> timeseries.Panel:
    """A time series panel; ``threshold`` draws the alerting line the panel is read against."""
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .min(0)
        .span(width)
        .height(8)
        .fill_opacity(10)
        .legend(
            common.VizLegendOptions()
            .show_legend(True)
            .display_mode(cm.LegendDisplayMode.LIST)
            .placement(cm.LegendPlacement.BOTTOM)
        )
        .tooltip(common.VizTooltipOptions().mode(cm.TooltipDisplayMode.MULTI).sort(cm.SortOrder.DESCENDING))
    )
    if stack:
        panel = panel.stacking(common.StackingConfig().mode(cm.StackingMode.NORMAL))
    if max_value is not None:
        panel = panel.max(max_value)
    if threshold is not None:
        panel = panel.thresholds(_thresholds((None, "green"), (threshold, "red"))).thresholds_style(
            common.GraphThresholdsStyleConfig().mode(cm.GraphThresholdsStyleMode.LINE)
        )
    _targets(panel, queries)
    return panel


def state(
    title: str, description: str, query: Query, *, names: dict[int, tuple[str, str]], width: int = 8
) -> stat.Panel:
    """A stat panel for a 0/1 gauge per series: ``names`` maps each value to (text, color)."""
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .span(width)
        .height(8)
        .text_mode(cm.BigValueTextMode.VALUE_AND_NAME)
        .color_mode(cm.BigValueColorMode.BACKGROUND)
        .graph_mode(cm.BigValueGraphMode.NONE)
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .mappings(
            [
                dm.ValueMap(options={str(v): dm.ValueMappingResult(text=t, color=c, index=i)})
                for i, (v, (t, c)) in enumerate(sorted(names.items()))
            ]
        )
    )
    _targets(panel, [query])
    return panel


def distribution(title: str, description: str, query: Query, *, width: int = 8) -> bargauge.Panel:
    """A bar gauge of a histogram's buckets (a heatmap-format query turns cumulative buckets into counts)."""
    panel = (
        bargauge.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .span(width)
        .height(8)
        .unit("short")
        .orientation(cm.VizOrientation.VERTICAL)
        .display_mode(cm.BarGaugeDisplayMode.GRADIENT)
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )
    _targets(panel, [query])
    return panel


def datasource_variable() -> dash.DatasourceVariable:
    return dash.DatasourceVariable("datasource").label("Data source").type("prometheus")


def queue_variable() -> dash.QueryVariable:
    """Queues as the API reports them; "All" is a regex, so queues only workers report still match."""
    return (
        dash.QueryVariable("queue")
        .label("Queue")
        .datasource(DATASOURCE)
        .query("label_values(stoker_queue_jobs, queue)")
        .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dm.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .current(dm.VariableOption(selected=True, text="All", value="$__all"))
    )


def dashboard(uid: str, title: str, description: str, rows: Sequence[Row]) -> str:
    """The dashboard as indented JSON with sorted keys (stable for diffs), ending in a newline."""
    board = (
        dash.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["stoker"])
        .editable()
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .time("now-3h", "now")
        .refresh("30s")
        .link(
            dash.DashboardLink("Stoker")
            .type(dm.DashboardLinkType.DASHBOARDS)
            .icon("external link")
            .tags(["stoker"])
            .as_dropdown(True)
            .include_vars(True)
            .keep_time(True)
        )
        .with_variable(datasource_variable())
        .with_variable(queue_variable())
    )
    panel_id = 0
    for row_title, panels in rows:
        panel_id += 1
        board = board.with_row(dash.Row(row_title).id(panel_id))
        for panel in panels:
            panel_id += 1
            board = board.with_panel(panel.id(panel_id))
    return json.dumps(board.build(), cls=JSONEncoder, indent=2, sort_keys=True) + "\n"
