"""s2svr.report.source_of: a chapter shows the package's own lines, headed by their file and line."""
from s2svr.models import ConvGRU
from s2svr.report import source_of


def test_source_of_names_the_file_and_dedents_methods():
    text = source_of(ConvGRU.forward)
    assert text.startswith("# s2svr/models/convgru.py, line ")
    assert "\ndef forward(self" in text and "torch.sigmoid" in text


def test_source_of_a_decorated_function_is_its_own():
    from s2svr.report import source_of
    from s2svr.report.segments import restore_segments  # under @torch.no_grad()
    src = source_of(restore_segments)
    assert src.startswith("# s2svr/report/segments.py") and "def restore_segments" in src


def test_an_excerpt_starts_and_stops_at_the_named_lines_with_its_own_line_number():
    import inspect

    import pytest

    from s2svr.train.flow import train_flow
    src = source_of(train_flow, start="while step < end:", stop="opt.step()")
    head, body = src.split("\n", 1)
    lines, first = inspect.getsourcelines(train_flow)
    k = next(i for i, ln in enumerate(lines) if "while step < end:" in ln)
    assert head == f"# s2svr/train/flow.py, from train_flow, line {first + k}"
    assert body.startswith("while step < end:\n") and body.rstrip().endswith("opt.step()")
    assert "def train_flow" not in body and "save()" not in body
    with pytest.raises(ValueError, match="not in the source"):
        source_of(train_flow, start="no such line")
