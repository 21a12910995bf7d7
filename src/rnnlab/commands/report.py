"""``rnnlab report``: one self-contained HTML page about a trained model (curves, states, gates)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rnnlab.commands.flags import add_settings, parsed
from rnnlab.config import LoadConfig, ReportConfig, TextConfig
from rnnlab.errors import UserError


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "report",
        help="write an HTML report: curves, hidden states over text, gate saturation, unit search",
        description="Write one self-contained HTML file (no network needed) about a run: training and "
        "validation curves and the samples of each evaluation; a text coloured by any unit's activation, "
        "with the model's top-5 next-character predictions under the pointer; gate saturation per layer "
        "(Karpathy et al. 2015, fig. 3); and a regular-expression search for the units that track a "
        "structure. The text is FILE (--text; '-' reads standard input), a sample from --prime, or by "
        "default the start of the held-out part of the training text.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by rnnlab train or rnnlab export --to hf")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--text", metavar="FILE", help="analyse this text file (- reads standard input)")
    src.add_argument("--prime", metavar="TEXT", help="analyse a sample that the model writes after TEXT")
    p.add_argument(
        "--out", metavar="FILE", help="the HTML file to write (default RUN_DIR/report.html; for base or an export, NAME-report.html here)"
    )
    p.add_argument("--lstmvis", metavar="DIR", help="also write the states in LSTMVis's layout into DIR (needs h5py)")
    add_settings(p, ReportConfig, "report", defaults=True)
    add_settings(p, TextConfig, "text", defaults=True)
    add_settings(p, LoadConfig, "run", only=("checkpoint",), defaults=True)
    return p


def run(args) -> int:
    from rnnlab.fileio import atomic_write_text
    from rnnlab.report import build_report, check_h5py, write_lstmvis
    from rnnlab.textfiles import STANDARD_INPUT, STDIN, read_texts

    text = None
    if args.text is not None:
        text = "".join(t for _, t in read_texts([args.text], parsed(args, TextConfig).encoding, stdin=True))
        if not text:
            raise UserError(f"{STANDARD_INPUT if args.text == STDIN else args.text} is empty")
    if args.lstmvis:
        check_h5py()
        try:  # before the page is written: a bad --lstmvis must not end a run that wrote half its output
            Path(args.lstmvis).mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UserError(f"cannot create {args.lstmvis} for --lstmvis: {e.strerror or e}") from None
    report = build_report(
        args.run_dir, text=text, prime=args.prime, which=parsed(args, LoadConfig).checkpoint, config=parsed(args, ReportConfig)
    )
    if args.lstmvis and report.data["mode"] == "tag":
        raise UserError("--lstmvis writes the states of language-model runs; this is a tag run")
    from rnnlab import checkpoint
    from rnnlab.runs import BASE

    # The shipped model has no run folder to write into: its page goes to the current folder.
    # The report goes into a run's folder; not into base or an export, which a user publishes as it is.
    if args.out:
        out = Path(args.out)
    elif args.run_dir == BASE or checkpoint.is_export(Path(args.run_dir)):
        out = Path(f"{Path(args.run_dir).name}-report.html")
    else:
        out = Path(args.run_dir) / "report.html"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot write {out}: {e.strerror}") from None
    atomic_write_text(out, report.html)
    print(f"wrote {out} ({report.data['meta']['chars']:,} characters, {out.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    if args.lstmvis:
        files = write_lstmvis(report.trace, report.vocab, args.lstmvis, name=Path(args.run_dir).name or "rnnlab")
        print(f"wrote LSTMVis files to {args.lstmvis}: {', '.join(f.name for f in files)}", file=sys.stderr)
    return 0
