"""Quality of ``rnnlab tag``: truecasing and diacritic restoration against the copy and rule baselines.

For each task the text's non-empty lines are split 90/10 (the last tenth is the test set). The
model is trained with the command line, ``rnnlab tag train --derive TASK train.txt --max-time T``
(default model and training options), and scored with ``rnnlab tag eval RUN test.tsv --json``;
the baselines are scored here on the same test pairs, by the same function:

- copy: the input unchanged;
- truecase rule: capitalise the first letter of each line and after a sentence end (. ! ?),
  and the word "i" (the line-start part only when it helps on the training lines);
- truecase rule + words: the same, after replacing each word by its most frequent cased form
  in the training lines (a unigram truecaser, a stronger baseline than the issue asks for);
- diacritics rule: each word replaced by its most frequent accented form in the training lines.

Texts: truecase on The Jargon File (the embedded corpus); diacritics on French prose from Debian
Reference (``src/rnnlab/corpora/debian-reference-fr.txt``, GPL-2+, see SOURCE-fr.md).

    .venv/bin/python benchmarks/tag_quality.py --minutes 3.5 [--threads 2] [--task truecase diacritics]
        [--text diacritics=my_spanish.txt]   # another text for a task (one line per example)
        [--seeds 1337 3 7]                   # train once per seed; the summary gives the mean margins

One run moves by a point or two with the seed (and, for a run the time ends, with how fast the
machine is that hour), so ``--seeds`` compares the mean over seeds with the best word rule.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, table, write_json

from rnnlab.data import default_corpus_path
from rnnlab.tag import derive_diacritics, derive_truecase, score

TEXTS = {"truecase": default_corpus_path(), "diacritics": default_corpus_path().parent / "debian-reference-fr.txt"}
DERIVE = {"truecase": derive_truecase, "diacritics": derive_diacritics}
WORD = re.compile(r"\w+")
SENTENCE_START = re.compile(r"[.!?][\"')\]]*\s+(?=\w)")


def split_lines(path: Path) -> tuple[list[str], list[str]]:
    lines = [line for line in path.read_text(encoding="utf-8").split("\n") if line]
    n_test = len(lines) // 10
    return lines[: len(lines) - n_test], lines[len(lines) - n_test :]


def new_words(train_pairs, test_pairs) -> float:
    """The fraction of the test's words to change (a word whose target differs from its input)
    whose input form never occurs in the training pairs: what a word's own memory cannot know."""
    seen = {w for inp, _ in train_pairs for w in WORD.findall(inp)}
    changed = [m.group() for inp, tgt in test_pairs for m in WORD.finditer(inp) if inp[m.start() : m.end()] != tgt[m.start() : m.end()]]
    return sum(w not in seen for w in changed) / max(1, len(changed))


def form_counts(pairs) -> dict[str, Counter]:
    """How often each input word takes each target form (spans are aligned, lengths equal)."""
    forms: dict[str, Counter] = defaultdict(Counter)
    for inp, tgt in pairs:
        for m in WORD.finditer(inp):
            forms[m.group()][tgt[m.start() : m.end()]] += 1
    return forms


def position_kinds(train_pairs, test_pairs) -> dict[str, int]:
    """The test's positions to change, by what the training pairs know of their word: "majority
    form" (the word rule gets these), "minority form" (the word takes this form in training, but
    less often than another: only context decides), "form unseen" (the word is known, this form of
    it is not) and "new word"."""
    forms = form_counts(train_pairs)
    kinds = dict.fromkeys(("majority form", "minority form", "form unseen", "new word"), 0)
    for inp, tgt in test_pairs:
        for m in WORD.finditer(inp):
            word, form = m.group(), tgt[m.start() : m.end()]
            seen = forms.get(word)
            if seen is None:
                kind = "new word"
            elif form not in seen:
                kind = "form unseen"
            else:
                kind = "majority form" if seen.most_common(1)[0][0] == form else "minority form"
            kinds[kind] += sum(a != b for a, b in zip(word, form))
    return kinds


def word_forms(pairs) -> dict[str, str]:
    """The most frequent target form of each input word: the word rule."""
    return {w: c.most_common(1)[0][0] for w, c in form_counts(pairs).items()}


def apply_words(text: str, forms: dict[str, str]) -> str:
    return WORD.sub(lambda m: forms.get(m.group(), m.group()), text)


def _upper(c: str) -> str:
    u = c.upper()
    return u if len(u) == 1 else c


def capitalise(text: str, line_start: bool) -> str:
    chars = list(text)
    starts = [m.end() for m in SENTENCE_START.finditer(text)]
    if line_start and text:
        starts.append(len(text) - len(text.lstrip()))
    for i in starts:
        if i < len(chars):
            chars[i] = _upper(chars[i])
    for m in re.finditer(r"\bi\b", text):
        chars[m.start()] = "I"
    return "".join(chars)


def baselines(task: str, train_pairs, test_pairs) -> dict[str, dict]:
    inputs = [i for i, _ in test_pairs]
    out = {"copy input": score(test_pairs, inputs)}
    if task == "truecase":
        # Capitalise at line starts only if that helps on the training lines (wrapped prose: often not).
        def fit(line_start):
            return score(train_pairs, [capitalise(i, line_start) for i, _ in train_pairs])["char_accuracy"]

        ls = fit(True) > fit(False)
        out["rule: sentence starts"] = score(test_pairs, [capitalise(i, ls) for i in inputs])
        forms = word_forms(train_pairs)
        # Word forms are counted everywhere (sentence starts too); the rule then adds the capitals
        # of sentence starts.
        out["rule + word forms"] = score(test_pairs, [capitalise(apply_words(i, forms), ls) for i in inputs])
        out["rule: sentence starts"]["line_start"] = ls
    else:
        forms = word_forms(train_pairs)
        out["rule: word forms"] = score(test_pairs, [apply_words(i, forms) for i in inputs])
    return out


def text_option(value: str) -> tuple[str, Path]:
    task, sep, path = value.partition("=")
    if not sep or task not in TEXTS or not Path(path).is_file():
        raise argparse.ArgumentTypeError(f"expected TASK=FILE with TASK one of {', '.join(TEXTS)} and an existing file, got {value!r}")
    return task, Path(path)


def command_line(args: list[str], tmp: Path) -> str:
    """The training command as a user would type it: ``rnnlab`` and its arguments, the files
    named as the benchmark writes them (train.txt, run) without its temporary folder."""
    return " ".join(["rnnlab", *(a.removeprefix(f"{tmp}{os.sep}") for a in args)])


def run_task(task: str, minutes: float, extra: list[str], tmp: Path, threads: int, text: Path) -> dict:
    train_lines, test_lines = split_lines(text)
    derive = DERIVE[task]
    train_pairs = [derive(line) for line in train_lines]
    test_pairs = [derive(line) for line in test_lines]
    (tmp / "train.txt").write_text("\n".join(train_lines) + "\n", encoding="utf-8")
    (tmp / "test.tsv").write_text("".join(f"{i}\t{t}\n" for i, t in test_pairs), encoding="utf-8")
    run = tmp / "run"
    cmd = [
        sys.executable,
        "-m",
        "rnnlab",
        "tag",
        "train",
        "--derive",
        task,
        str(tmp / "train.txt"),
        "--out",
        str(run),
        "--quiet",
        "--max-time",
        str(minutes * 60),
        *extra,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}  # torch's intra-op threads in the child
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env)
    wall = time.perf_counter() - t0
    r = subprocess.run(
        [sys.executable, "-m", "rnnlab", "tag", "eval", str(run), str(tmp / "test.tsv"), "--json"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    model = json.loads(r.stdout)
    model.pop("baseline")
    import torch

    ckpt = torch.load(run / "last.pt", weights_only=True)
    results = {"rnnlab tag": model, **baselines(task, train_pairs, test_pairs)}
    return {
        "task": task,
        "text": text.name,
        "train_lines": len(train_lines),
        "test_lines": len(test_lines),
        "test_chars": model["chars"],
        "test_changed": model["changed_chars"],
        "changed_words_new": round(new_words(train_pairs, test_pairs), 4),
        "changed_positions_by_kind": position_kinds(train_pairs, test_pairs),
        "train_wall_s": round(wall, 1),
        "threads": threads,
        "train_s": round(ckpt["progress"]["elapsed"], 1),
        "steps": ckpt["progress"]["step"],
        "epochs": ckpt["progress"]["epoch"],
        "model": ckpt["model_config"],
        "command": command_line(cmd[3:], tmp),
        "results": results,
    }


def best_rule(results: dict) -> str:
    """The baseline that gets the most changed positions right (a word rule; never the copy)."""
    rules = [m for m in results if m not in ("rnnlab tag", "copy input")]
    return max(rules, key=lambda m: results[m]["changed_accuracy"] or 0.0)


def summary(tasks: list[dict]) -> list[dict]:
    """Per task (and text): the tagger's mean changed-position and exact-line accuracy over the
    runs (one per seed), their range, and the mean margin over the best word rule, in points."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for t in tasks:
        groups[(t["task"], t["text"])].append(t)
    out = []
    for (task, text), runs in groups.items():
        rule = best_rule(runs[0]["results"])  # the split, so the baselines, are the same for every seed
        tag = [r["results"]["rnnlab tag"] for r in runs]
        row = {"task": task, "text": text, "runs": len(runs), "seeds": [r.get("seed") for r in runs], "best_rule": rule}
        for key in ("changed_accuracy", "line_accuracy"):
            values = [100 * r[key] for r in tag]
            row[key] = {"mean": round(sum(values) / len(values), 2), "min": round(min(values), 2), "max": round(max(values), 2)}
            row[key]["margin"] = round(row[key]["mean"] - 100 * runs[0]["results"][rule][key], 2)
        out.append(row)
    return out


def pct(x) -> str:
    return "-" if x is None else f"{100 * x:.2f}%"


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=3.5, help="training time per task (--max-time), in minutes")
    ap.add_argument("--task", nargs="+", choices=list(TEXTS), default=list(TEXTS))
    ap.add_argument(
        "--threads", type=int, default=2, help="torch threads for training (default 2; 1 gives steadier figures when the cores are shared)"
    )
    ap.add_argument("--train-args", default="", help="extra flags for rnnlab tag train, e.g. '--tiny'")
    ap.add_argument(
        "--text",
        type=text_option,
        action="append",
        default=[],
        metavar="TASK=FILE",
        help="use FILE's lines for TASK instead of its own text",
    )
    ap.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=None,
        metavar="S",
        help="train once per seed (--seed S); default: once, rnnlab's default seed",
    )
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    texts = {**TEXTS, **dict(args.text)}
    tasks = []
    for task, seed in [(task, seed) for task in args.task for seed in args.seeds or [None]]:
        extra = args.train_args.split() + ([] if seed is None else ["--seed", str(seed)])
        with tempfile.TemporaryDirectory() as tmp:
            tasks.append({**run_task(task, args.minutes, extra, Path(tmp), args.threads, texts[task]), "seed": seed})
        t = tasks[-1]
        print(
            f"{task}{'' if seed is None else f' (seed {seed})'}: {t['train_lines']:,} training lines, {t['test_lines']:,} test lines ({t['test_chars']:,} characters, "
            f"{t['test_changed']:,} to change, {t['changed_words_new']:.1%} of the words to change new); trained {t['steps']} steps in {t['train_s']:.0f} s "
            f"({t['train_wall_s']:.0f} s wall, {t['threads']} thread{'s' if t['threads'] > 1 else ''})",
            flush=True,
        )
    rows = []
    for t in tasks:
        for method, r in t["results"].items():
            rows.append(
                {
                    "task": t["task"] + ("" if t["seed"] is None else f" (seed {t['seed']})"),
                    "method": method,
                    "changed positions": pct(r["changed_accuracy"]),
                    "exact lines": pct(r["line_accuracy"]),
                    "characters": pct(r["char_accuracy"]),
                    "wrong changes": r["wrong_changes"],
                    "training": f"{t['train_s']:.0f} s" if method == "rnnlab tag" else "",
                }
            )
    print()
    print(table(rows, ["task", "method", "changed positions", "exact lines", "characters", "wrong changes", "training"]))
    means = summary(tasks)
    print()
    print(
        table(
            [
                {
                    "task": f"{m['task']} ({m['text']})",
                    "runs": m["runs"],
                    "changed positions": f"{m['changed_accuracy']['mean']:.1f}% ({m['changed_accuracy']['min']:.1f}-{m['changed_accuracy']['max']:.1f})",
                    "exact lines": f"{m['line_accuracy']['mean']:.1f}% ({m['line_accuracy']['min']:.1f}-{m['line_accuracy']['max']:.1f})",
                    "over the best rule": f"{m['changed_accuracy']['margin']:+.1f} / {m['line_accuracy']['margin']:+.1f} ({m['best_rule']})",
                }
                for m in means
            ],
            ["task", "runs", "changed positions", "exact lines", "over the best rule"],
        )
    )
    payload = {
        "benchmark": "tag_quality",
        "minutes": args.minutes,
        "threads": args.threads,
        "train_args": args.train_args,
        "seeds": args.seeds,
        "tasks": tasks,
        "summary": means,
    }
    write_json(args.out or RESULTS / "tag_quality.json", payload)
    return payload


if __name__ == "__main__":
    main()
