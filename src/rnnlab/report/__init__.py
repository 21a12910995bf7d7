"""What ``rnnlab report`` shows: hidden states, gates and predictions over a text, and training curves.

- :mod:`.tracing`: a language model read over a text with :class:`rnnlab.stepper.Stepper`,
  keeping every state, the gates and the next-character predictions (:class:`Trace`).
- :mod:`.analysis`: gate saturation (Karpathy, Johnson and Fei-Fei 2015, figure 3) and the
  regular-expression unit search.
- :mod:`.tagging`: the report of a tag (transduction) run.
- :mod:`.page`: the page's JSON and the self-contained HTML file (``template.html``).
- :mod:`.build`: :func:`build_report`, all of it for one run, and which text it reads.
- :mod:`.lstmvis`: the export for LSTMVis.

>>> from rnnlab.report import build_report
>>> rep = build_report("runs/jargon", text="Hello (world).")
>>> rep.html   # -> str, one file
"""

from rnnlab.report.analysis import (
    DEFAULT_SEARCH,
    EXAMPLE_SEARCHES,
    HIGH,
    LOW,
    choose_search,
    correlations,
    regex_mask,
    saturation,
    unit_search,
)
from rnnlab.report.build import build_report, heldout_text, prepare_text
from rnnlab.report.lstmvis import write_lstmvis
from rnnlab.report.page import PAGE_CHARS, Report, page_data, render_html
from rnnlab.report.tagging import TagTrace, tag_trace
from rnnlab.report.tracing import TOP_K, Trace, trace
