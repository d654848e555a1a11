import lambdalab as ll
from lambdalab.widgets import LogPanel


def test_an_error_entry_shows_collapsed_with_its_line_count():
    lab = ll.Lab(seed=0)
    lab.create_function("boom", "def handler(event, context):\n    raise ValueError('no')\n")
    lab.client("lambda").invoke(FunctionName="boom")
    panel = LogPanel(lab)
    panel.goto(len(lab.trace) - 1)
    html = panel.body.value
    assert "[ERROR] ValueError: no" in html and "more lines]" in html
    assert "Traceback" not in html
    assert any(line.startswith("[ERROR]") and "Traceback" in line for line in lab.logs("boom"))
