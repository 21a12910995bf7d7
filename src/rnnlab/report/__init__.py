"""What ``rnnlab report`` shows: hidden states, gates and predictions over a text, and training curves.

:func:`build_report` (:mod:`.build`) makes the whole report of a run, a language model's or a tag
run's; :mod:`.tracing` reads a language model over a text, :mod:`.page` writes the page's JSON and
the self-contained HTML file, and :mod:`.lstmvis` the export for LSTMVis.

>>> from rnnlab.report import build_report
>>> rep = build_report("runs/jargon", text="Hello (world).")
>>> rep.html   # -> str, one file
"""

from rnnlab.report.build import TagTrace, build_report, heldout_text, prepare_text, tag_trace
from rnnlab.report.lstmvis import check_h5py, write_lstmvis
from rnnlab.report.page import PAGE_CHARS, Report, page_data, render_html
from rnnlab.report.tracing import Trace, choose_search, correlations, regex_mask, saturation, trace, unit_search
