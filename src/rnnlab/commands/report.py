"""``rnnlab report``: one self-contained HTML page about a trained model (curves, states, gates)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rnnlab.commands.common import positive_float, positive_int
from rnnlab.errors import UserError


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "report",
        help="write an HTML report: curves, hidden states over text, gate saturation, unit search",
        description="Write one self-contained HTML file (no network needed) about a run: training and "
        "validation curves and the samples of each evaluation; a text coloured by any unit's activation, "
        "with the model's top-5 next-character predictions under the pointer; gate saturation per layer "
        "(Karpathy et al. 2015, fig. 3); and a regular-expression search for the units that track a "
        "structure. The text is FILE (--text), a sample from --prime, or by default the start of the "
        "held-out part of the training text.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by rnnlab train")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--text", metavar="FILE", help="analyse this text file")
    src.add_argument("--prime", metavar="TEXT", help="analyse a sample that the model writes after TEXT")
    p.add_argument("--out", metavar="FILE", help="the HTML file to write (default RUN_DIR/report.html)")
    p.add_argument(
        "--chars", type=positive_int, default=5000, help="analyse at most this many characters (default 5000)"
    )
    p.add_argument("--length", type=positive_int, default=2000, help="characters to sample with --prime (default 2000)")
    p.add_argument(
        "--temperature", type=positive_float, default=0.8, help="sampling temperature with --prime (default 0.8)"
    )
    p.add_argument("--seed", type=int, default=0, help="sampling seed with --prime (default 0)")
    p.add_argument(
        "--search",
        metavar="REGEX",
        help="the unit search the page opens with (default: whichever of text in parentheses, braces, "
        "brackets or quotes has the best-correlated unit)",
    )
    p.add_argument("--checkpoint", choices=["best", "last"], default="best", help="which checkpoint (default best)")
    p.add_argument("--encoding", default="utf-8", help="encoding of --text (default utf-8)")
    p.add_argument("--lstmvis", metavar="DIR", help="also write the states in LSTMVis's layout into DIR (needs h5py)")
    return p


def run(args) -> int:
    import torch

    from rnnlab.data import iter_text, list_text_files
    from rnnlab.report import build_report, write_lstmvis

    text = None
    if args.text is not None:
        files, _ = list_text_files([args.text])
        text = "".join(t for f in files for t in iter_text(f, args.encoding))
        if not text:
            raise UserError(f"{args.text} is empty")
    if args.lstmvis:
        try:
            import h5py  # noqa: F401
        except ImportError:
            raise UserError("--lstmvis needs h5py: pip install 'rnnlab[lstmvis]'") from None
    with torch.no_grad():
        report = build_report(
            args.run_dir,
            text=text,
            prime=args.prime,
            chars=args.chars,
            length=args.length,
            temperature=args.temperature,
            seed=args.seed,
            which=args.checkpoint,
            search=args.search,
        )
    if args.lstmvis and report.data.get("mode") == "tag":
        raise UserError("--lstmvis writes the states of language-model runs; this is a tag run")
    out = Path(args.out) if args.out else Path(args.run_dir) / "report.html"
    try:
        if out.parent and not out.parent.exists():
            out.parent.mkdir(parents=True)
        out.write_text(report.html, encoding="utf-8")
    except OSError as e:
        raise UserError(f"cannot write {out}: {e.strerror}") from None
    size = out.stat().st_size
    print(f"wrote {out} ({report.data['meta']['chars']:,} characters, {size / 1e6:.1f} MB)", file=sys.stderr)
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    if args.lstmvis:
        files = write_lstmvis(report.trace, report.vocab, args.lstmvis, name=Path(args.run_dir).name or "rnnlab")
        print(f"wrote LSTMVis files to {args.lstmvis}: {', '.join(f.name for f in files)}", file=sys.stderr)
    return 0
