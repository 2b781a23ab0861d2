"""Rich tables for results and boards (the CLI's console output), formatted as the board files are."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Column, Table

from v2abench.boards.board import Board
from v2abench.boards.display import display_name, is_reference, label
from v2abench.boards.render import ARROW, fmt, primary_metric, table_columns, table_order, table_rows
from v2abench.results import Result, user_results

# Piped or redirected output is read by tools (`| grep`): a wide console there, and names never cut.
console = Console() if sys.stdout.isatty() else Console(width=400)
SCALE_NOTE = "IB/CLAP and % x100"


def print_result(result: Result) -> None:
    table = Table("metric", "value", "95% interval", "n", "dropped", title=f"{result.model['name']} on {result.split['name']} ({result.table}; {SCALE_NOTE})")
    for mid, m in sorted(result.metrics.items()):
        interval = f"[{fmt(mid, m.interval[0])}, {fmt(mid, m.interval[1])}]" if m.interval else ""
        table.add_row(f"{mid} {ARROW[m.direction.value]}", fmt(mid, m.value), interval, str(m.n), str(len(m.dropped)))
    console.print(table)
    if result.failed:
        console.print(f"[yellow]{len(result.failed)} clips failed:[/]")
        for cid, reason in list(result.failed.items())[:10]:
            console.print(f"  {cid}: {reason}", highlight=False)


def print_board(board: Board) -> None:
    """The committed rows beside the user's own rows (marked 'yours'); reference rows last, unranked."""
    protocol = board.protocol()
    committed = board.rows()
    mine = user_results(board.dir_name)
    status = "published" if board.published else "draft"
    for table_name in table_order(board, protocol):
        tproto = protocol["tables"][table_name]
        primary = primary_metric(board, protocol, table_name)
        results = [(r, "committed") for r in table_rows(protocol, table_name, committed, primary)]
        results += [(r, "yours") for r in table_rows(protocol, table_name, mine, primary)]
        direction = tproto["metrics"][primary]["direction"]
        results.sort(key=lambda rs: (is_reference(rs[0]), rs[0].value(primary) is None,
                                     -(rs[0].value(primary) or 0) if direction == "higher" else (rs[0].value(primary) or 0)))
        if not results:
            console.print(f"{board.dir_name} — {table_name}: {tproto['split']}: no rows yet", highlight=False)
            continue
        mids = table_columns(board, protocol, table_name)
        per_table = max(1, (console.width - 36) // 12)  # a narrow terminal gets the columns in several tables
        for start in range(0, len(mids), per_table):
            part = mids[start : start + per_table]
            cols = "" if len(part) == len(mids) else f"; columns {start + 1}–{start + len(part)} of {len(mids)}"
            name_width = max(len(display_name(r)) for r, _ in results)
            table = Table(Column("row", no_wrap=True), Column("model", no_wrap=True, min_width=name_width), Column("ckpt", no_wrap=True), *[f"{label(m)} {ARROW[tproto['metrics'][m]['direction']]}" for m in part],
                          title=f"{board.dir_name} ({status}) — {table_name}: {tproto['split']} (ranked by {label(primary)}; {SCALE_NOTE}{cols})")
            for r, source in results:
                style = "bold cyan" if source == "yours" else ("dim" if is_reference(r) else None)
                kind = ("reference" if source == "committed" else "reference (yours)") if is_reference(r) else source
                table.add_row(kind, display_name(r), (r.model.get("checkpoint_sha256") or "none")[:8], *[fmt(m, r.value(m)) for m in part], style=style)
            console.print(table)
