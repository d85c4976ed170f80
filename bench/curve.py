"""`make bench-curve`: the full import at 1k, 10k and 50k customers on both emulators, and the plots.

Separate from `make bench` because the 50k imports alone take longer than its 15-minute budget."""

from __future__ import annotations

import sys
from pathlib import Path

from bench.infra import SYSTEMS, emulators, moto_stack, own_table
from bench.results import Row, format_table, write_results

SIZES = (1_000, 10_000, 50_000)
IMG = Path(__file__).resolve().parent.parent / "docs" / "img"


def run_curve(path: Path, sizes: tuple[int, ...] = SIZES) -> int:
    from bench.run import INVOICES_PER_CUSTOMER
    from bench.sync_bench import bench_system

    rows: list[Row] = []
    for size in sizes:
        # A fresh moto per size, so a bigger table does not tax the next size's measurement.
        with moto_stack() as (_, shared), emulators() as running:
            for system in SYSTEMS:
                print(f"[bench-curve] {system} N={size:,}", file=sys.stderr, flush=True)
                resources = own_table(shared, system)
                rows += bench_system(
                    system, running[system].base_url, resources, size, INVOICES_PER_CUSTOMER, incremental=False
                )[0]
        write_results(rows, path, {"sizes": list(sizes)})
        plot(rows)  # after every size, so a run cut short still leaves the sizes it finished
    print(format_table(rows))
    return 0


def plot(rows: list[Row]) -> None:
    """docs/img/perf-import-curve.png: wall time (arsync and raw) and requests against N, per emulator."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (wall, reqs) = plt.subplots(1, 2, figsize=(11, 4.2))
    for system, label in (("QBO", "QBO"), ("Xero", "Xero")):

        def pick(metric: str, system: str = system) -> list[Row]:
            return [r for r in rows if r.scenario.startswith(f"full import {system} ") and r.metric == metric]

        walls = pick("wall time vs raw baseline")
        sizes = [int(r.extra.get("customers_seeded", 0)) or _size(r.scenario) for r in walls]
        wall.plot(sizes, [r.value for r in walls], "o-", label=f"arsync {label}")
        wall.plot(sizes, [r.bound for r in walls], "x--", label=f"raw baseline {label}")
        requests_ = pick("provider requests")
        writes = pick("DynamoDB write requests")
        reqs.plot(sizes, [r.value for r in requests_], "o-", label=f"provider requests {label}")
        reqs.plot(sizes, [r.value for r in writes], "s-", label=f"DynamoDB writes {label}")
        reqs.plot(sizes, [r.bound for r in writes], "x--", label=f"ceil(items/25) {label}")
    wall.set(xlabel="customers (N)", ylabel="seconds", title="Full import wall time", xscale="log", yscale="log")
    reqs.set(xlabel="customers (N)", ylabel="requests", title="Requests", xscale="log", yscale="log")
    for axis in (wall, reqs):
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=7)
    fig.tight_layout()
    IMG.mkdir(parents=True, exist_ok=True)
    fig.savefig(IMG / "perf-import-curve.png", dpi=110)
    plt.close(fig)


def _size(scenario: str) -> int:
    return int(scenario.rsplit("N=", 1)[-1].replace(",", ""))
