"""s2svr.report.per_frame: the gain of history per frame."""
from s2svr.report.per_frame import history_gain


def test_history_gain():
    import pandas as pd
    df = pd.DataFrame({"S2SVR": [20.0, 23.0, 25.0], "single-frame": [21.0, 22.0, 22.0]})
    g = history_gain(df)
    assert g.iloc[0, 0] == -1.0 and g.iloc[1, 0] == 2.0
