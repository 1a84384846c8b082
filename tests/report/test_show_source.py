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
