"""The tuning report: ``report.md`` and a self-contained ``report.html`` in the tuning directory.

Built on the comparison report's document model (:mod:`nlp_pp.report.document`) and plot style
(:mod:`nlp_pp.report.plots`): the best trial against the options as given, its parameters, the score
over the trials, each parameter's importance, every trial, and the one test evaluation of the best
configuration.
"""

from __future__ import annotations

import logging
import math
import warnings
from pathlib import Path
from typing import Any

from ..report.document import Bold, Code, Document, Plot
from .space import INIT, MODEL

log = logging.getLogger(__name__)


def trial_rows(study) -> list[dict]:
    """One dict per trial: number, state, value, epochs, seconds, why it stopped, its values."""
    rows = []
    for t in study.trials:
        rows.append(
            {
                "number": t.number,
                "state": t.state.name.lower(),
                "value": t.value,
                "epochs": t.user_attrs.get("epochs"),
                "seconds": t.duration.total_seconds() if t.duration else None,
                "stopped": t.user_attrs.get("stopped", ""),
                "as_given": bool(t.user_attrs.get("as_given")),
                "values": t.user_attrs.get("values", {}),
            }
        )
    return rows


def importances(study) -> tuple[dict[str, float], str]:
    """Each parameter's importance for the validation score (Optuna's fANOVA), or ``({}, why not)``."""
    from optuna.importance import get_param_importances
    from optuna.trial import TrialState

    if len([t for t in study.trials if t.state == TrialState.COMPLETE]) < 3:
        return {}, "fewer than three complete trials: too few to weigh the parameters"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return dict(get_param_importances(study)), ""
    except Exception as e:  # e.g. no parameter varied among the complete trials
        return {}, f"not computed ({e.__class__.__name__}: {str(e).splitlines()[0] if str(e) else ''})"


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 0.01 or abs(v) >= 1000 else f"{v:.4g}"
    return str(v)


def _values_text(values: dict) -> str:
    return ", ".join(f"{k}={_fmt(v)}" for k, v in values.items())


def plot_history(rows: list[dict]):
    from ..report.plots import new_fig

    fig = new_fig(7.5, 3.4, layout="constrained")
    ax = fig.subplots()
    done = [r for r in rows if r["state"] == "complete" and r["value"] is not None]
    pruned = [r for r in rows if r["state"] == "pruned"]
    ax.scatter(
        [r["number"] for r in done], [r["value"] for r in done], s=18, color="#0072B2", label="complete"
    )
    if pruned:
        ys = [r.get("last") for r in pruned]
        pts = [(r["number"], y) for r, y in zip(pruned, ys) if y is not None]
        if pts:
            ax.scatter(*zip(*pts), s=18, marker="x", color="#999999", label="pruned (last epoch's score)")
    best, xs, bs = -math.inf, [], []
    for r in sorted(done, key=lambda r: r["number"]):
        best = max(best, r["value"])
        xs.append(r["number"])
        bs.append(best)
    if xs:
        ax.step(xs, bs, where="post", color="#E69F00", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel("validation macro-F1")
    ax.set_title("Validation macro-F1 over the trials")
    ax.legend(loc="lower right")
    return fig


def plot_importance(imp: dict[str, float]):
    from ..report.plots import new_fig

    names = list(imp)[::-1]
    fig = new_fig(6.5, 0.5 + 0.28 * len(names), layout="constrained")
    ax = fig.subplots()
    ax.barh(names, [imp[n] for n in names], color="#009E73")
    ax.set_xlabel("importance (fANOVA, share of the validation score's variance)")
    ax.set_title("Parameter importance")
    return fig


def write_tune_report(
    directory: Path, study, cfg, space, best, run_dir: Path | None, *, timeout: float | None = None
) -> dict[str, Path]:
    """Write ``report.md``, ``report.html`` and ``plots/`` of a finished search in ``directory``."""
    from ..report import plots

    out = Path(directory)
    plots_dir = out / "plots"
    plots_dir.mkdir(exist_ok=True)

    def plot(name: str, alt: str, fn, *args) -> Plot | None:
        try:
            with plots.plot_style():
                data = plots.png(fn(*args))
        except Exception as exc:  # keep the report even if a plot fails
            warnings.warn(f"tune report: plot {name!r} skipped: {exc}", stacklevel=2)
            return None
        path = plots_dir / name
        path.write_bytes(data)
        return Plot(path=path, rel=f"plots/{name}", data=data, alt=alt)

    rows = trial_rows(study)
    for t, r in zip(study.trials, rows):
        steps = t.intermediate_values
        r["last"] = steps[max(steps)] if steps else None
    complete = [r for r in rows if r["state"] == "complete"]
    pruned = [r for r in rows if r["state"] == "pruned"]
    given = next((r for r in rows if r["as_given"] and r["state"] == "complete"), None)
    best_row = rows[best.number]
    seconds = sum(r["seconds"] or 0 for r in rows)

    doc = Document()
    doc.h2("Result", "result")
    lead = [
        "Best trial: ",
        Bold(f"#{best.number}"),
        f", validation macro-F1 {best.value:.4f} "
        f"({best_row['values'].get(MODEL)} + {best_row['values'].get(INIT)})",
    ]
    if given is not None:
        diff = best.value - given["value"]
        lead += [
            "; the options as given (trial ",
            f"#{given['number']}) scored {given['value']:.4f}, so the search found ",
            Bold(f"{diff:+.4f}"),
            " on validation",
        ]
    doc.p(*lead, ".")
    doc.p(
        f"{len(rows)} trial(s): {len(complete)} complete, {len(pruned)} pruned, "
        f"{len(rows) - len(complete) - len(pruned)} failed or interrupted; {seconds / 60:.1f} min of trials"
        + (f" within a budget of {timeout:g} s" if timeout else "")
        + ". Every choice was made on the validation split; no trial computed a test prediction."
    )
    doc.p("Reproduce the best configuration: ", Code("python pipeline.py --config best.toml"))
    if run_dir is not None:
        doc.h2("The best configuration, evaluated once on the test split", "final")
        from ..training.experiment import load_metrics

        m = load_metrics(run_dir)
        table = []
        for r in m.runs:
            table.append(
                [
                    f"{r.model} + {r.init}",
                    str(r.seed),
                    f"{r.val.get('macro_f1'):.4f}",
                    f"{r.test.get('accuracy'):.4f}",
                    f"{r.test.get('macro_f1'):.4f}",
                ]
            )
        for r in (m.baseline, m.ensemble, m.distilled):
            if r is not None:
                table.append(
                    [
                        r.key,
                        "—",
                        f"{r.val.get('macro_f1'):.4f}",
                        f"{r.test.get('accuracy'):.4f}",
                        f"{r.test.get('macro_f1'):.4f}",
                    ]
                )
        doc.table(["row", "seed", "val macro-F1", "test accuracy", "test macro-F1"], table, "llrrr")
        doc.note(
            "The run in ",
            Code(run_dir.name + "/"),
            " (its own report.html); its validation score can differ a little from the trial's when the "
            "thread count differed (float rounding), or when it ran more seeds.",
        )

    doc.h2("Best parameters", "params")
    given_values = given["values"] if given else {}
    doc.table(
        ["parameter", "best", "as given"],
        [
            [k, _fmt(v), _fmt(given_values[k]) if k in given_values else "—"]
            for k, v in best_row["values"].items()
        ],
        "lrr",
    )

    doc.h2("Score over the trials", "history")
    doc.figure(
        plot("history.png", "validation macro-F1 per trial", plot_history, rows),
        "Each trial's validation macro-F1; the line is the best so far.",
    )

    doc.h2("Parameter importance", "importance")
    imp, why = importances(study)
    if imp:
        doc.figure(
            plot("importance.png", "parameter importance", plot_importance, imp),
            "How much of the variation of the validation score each parameter explains, over the complete "
            "trials (fANOVA); parameters sampled for only some model families are left out.",
        )
        doc.table(["parameter", "importance"], [[k, f"{v:.3f}"] for k, v in imp.items()], "lr")
    else:
        doc.note(f"Importance {why}.")

    doc.h2("Trials", "trials")
    doc.table(
        ["#", "state", "val macro-F1", "epochs", "seconds", "parameters"],
        [
            [
                str(r["number"]) + (" (as given)" if r["as_given"] else ""),
                r["state"] + (f" ({r['stopped']})" if r["stopped"] else ""),
                "—" if r["value"] is None else f"{r['value']:.4f}",
                str(r["epochs"] or "—"),
                "—" if r["seconds"] is None else f"{r['seconds']:.0f}",
                _values_text(r["values"]),
            ]
            for r in rows
        ],
        "llrrrm",
        ["best" if r["number"] == best.number else None for r in rows],
    )
    data = cfg.data
    title = f"Tuning report — {out.name}"
    meta = [
        f"data {Path(str(data)).name}; models {', '.join(cfg.models)}; inits {', '.join(cfg.inits)}; "
        f"split seed {cfg.split_seed}"
    ]
    md, html = out / "report.md", out / "report.html"
    md.write_text(doc.to_markdown(title, meta), encoding="utf-8")
    html.write_text(doc.to_html(title, meta), encoding="utf-8")
    return {"md": md, "html": html}
