"""The web page's speed: characters per second of ``rnnlab export --to web``'s page in headless Chromium.

The default size, 2x256 with an embedding of 64 over a 96-symbol vocabulary and random weights
(speed does not depend on what the weights learned), for each cell the page runs, exported with
float16 weights and opened from disk in the system's Chromium as the page tests open it. Two
figures, timed in alternating rounds: ``hook``, the page's ``rnnlabWeb.sample`` (the steps and
the draws, nothing drawn on screen), and ``page``, Generate clicked and the text streamed into
the page, at the rate the page itself reports. The goal is 500 characters per second on a CPU.

    .venv/bin/python benchmarks/web_speed.py [--chars 3000] [--rounds 3] [--cells lstm gru rnn] [--quick] [--out FILE]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _common import RESULTS, alternate, median, table, write_json
from browser import CHROMIUM, launch

from rnnlab.checkpoint import Checkpoint, LMState
from rnnlab.config import DataConfig, ExportConfig, ModelConfig, TrainConfig
from rnnlab.data import DataSpec, Vocab
from rnnlab.export import web
from rnnlab.model import CharRNN

GOAL = 500  # characters per second
VOCAB = Vocab((*(chr(c) for c in range(32, 127)), "\n"))  # 96 symbols


def write_page(cell: str, hidden: int, folder: Path) -> Path:
    """The page of a random 2-layer model of ``cell``, ``hidden`` units wide."""
    cfg = ModelConfig(vocab_size=len(VOCAB), cell=cell, hidden=hidden)
    torch.manual_seed(0)
    model = CharRNN(cfg).eval()
    ckpt = Checkpoint("lm", cfg, TrainConfig(), DataConfig(), DataSpec("text"), model.state_dict(), "torch", LMState(VOCAB))
    path = folder / f"{cell}-{hidden}.html"
    web.write(ckpt, model, path, ExportConfig(dtype="float16"))
    return path


def wait_until(page, expression: str) -> None:
    """Poll ``expression``: Playwright's wait_for_function evaluates strings, which the page's Content-Security-Policy forbids."""
    while not page.evaluate(expression):
        time.sleep(0.02)


def hook_rate(page, chars: int) -> float:
    ms = page.evaluate(
        f"(() => {{ const t = performance.now(); window.rnnlabWeb.sample('The ', {chars}, 1, 1); return performance.now() - t; }})()"
    )
    return chars / (ms / 1000)


def page_rate(page, chars: int) -> float:
    page.fill("#length", str(chars))
    page.click("#generate")
    wait_until(page, "document.body.dataset.state !== 'running'")
    return float(page.evaluate("document.body.dataset.rate"))


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chars", type=int, default=3000, help="characters per timed run")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cells", nargs="+", default=list(web.CELLS), choices=web.CELLS)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--quick", action="store_true", help="a smoke test: the LSTM, 200 characters, one round")
    ap.add_argument("--out", type=Path, default=RESULTS / "web_speed.json")
    args = ap.parse_args(argv)
    if args.quick:
        args.chars, args.rounds, args.cells = 200, 1, ["lstm"]
    if CHROMIUM is None:
        raise SystemExit("no chromium found (apt-get install chromium, or set RNNLAB_CHROMIUM)")
    rows = []
    with tempfile.TemporaryDirectory() as tmp, launch() as browser:
        version = browser.version
        for cell in args.cells:
            page = browser.new_context().new_page()
            page.goto(write_page(cell, args.hidden, Path(tmp)).as_uri(), wait_until="load")
            wait_until(page, "document.body.dataset.ready === '1'")
            page.fill("#temperature", "1")
            page.fill("#seed", "1")
            got = alternate({"hook": lambda p=page: hook_rate(p, args.chars), "page": lambda p=page: page_rate(p, args.chars)}, args.rounds)
            hook, shown = median(got["hook"]), median(got["page"])
            rows.append(
                {
                    "cell": cell,
                    "layers": 2,
                    "hidden": args.hidden,
                    "hook_cps": round(hook),
                    "page_cps": round(shown),
                    "goal_met": min(hook, shown) >= GOAL,
                }
            )
            page.context.close()
    print(table(rows, ["cell", "layers", "hidden", "hook_cps", "page_cps", "goal_met"]))
    print(f"chars/s of the page in headless Chromium {version}; goal {GOAL}")
    payload = {"quick": args.quick, "chars": args.chars, "rounds": args.rounds, "goal_cps": GOAL, "chromium": version, "rows": rows}
    write_json(args.out, payload)
    return payload


if __name__ == "__main__":
    main()
