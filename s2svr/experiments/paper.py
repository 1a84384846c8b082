"""The numbers the paper reports (Tables 1-5, parameter counts), typed once, as data.

The Experiments chapters (`notebooks/exp_sr.py`, `notebooks/exp_deblur.py`, `notebooks/exp_vqe.py`,
`notebooks/exp_ablation.py`) and the report (`notebooks/report.py`) read them from here. Scores are
`(PSNR dB, SSIM)` (Tables 1, 2, 4, 5) or `(delta-PSNR dB, delta-SSIM x 1e-4)` (Table 3); parameter counts are in
millions, as `Decimal` so that they print with the paper's digits ("15.30 M"); `None` where the paper prints "-".
"""
from __future__ import annotations

from decimal import Decimal as M

# Table 1, x4 video super-resolution: method -> (params M, REDS4 (PSNR, SSIM) RGB, Vimeo-90K-T (PSNR, SSIM) Y).
TABLE1_BENCHMARKS = ("REDS4", "Vimeo-90K-T")
TABLE1 = {
    "Bicubic": (None, (26.14, 0.7292), (31.32, 0.8684)),
    "TOFlow": (None, (27.98, 0.7990), (33.08, 0.9054)),
    "DUF": (M("5.8"), (28.63, 0.8251), None),
    "RBPN": (M("12.2"), (30.09, 0.8590), (37.07, 0.9435)),
    "EDVR-M": (M("3.3"), (30.53, 0.8699), (37.09, 0.9446)),
    "EDVR": (M("20.6"), (31.09, 0.8800), (37.61, 0.9489)),
    "PFNL": (M("3.0"), (29.63, 0.8502), (36.14, 0.9363)),
    "MuCAN": (None, (30.88, 0.8750), (37.32, 0.9465)),
    "BasicVSR": (M("6.3"), (31.42, 0.8909), (37.18, 0.9450)),
    "IconVSR": (M("8.7"), (31.67, 0.8948), (37.47, 0.9476)),
    "VSR-Transformer": (M("32.6"), (31.19, 0.8815), (37.71, 0.9494)),
    "S2SVR (Ours)": (M("13.4"), (31.96, 0.8988), (37.63, 0.9490)),
}

# Table 2, video deblurring: method -> (params M, GOPRO (PSNR, SSIM) RGB).
TABLE2_BENCHMARKS = ("GOPRO",)
TABLE2 = {
    "Tao et al.": (None, (30.29, 0.9014)),
    "Su et al.": (M("15.30"), (27.31, 0.8255)),
    "Kim et al.": (None, (26.82, 0.8245)),
    "Nah et al.": (None, (29.97, 0.8947)),
    "EDVR": (M("23.6"), (26.83, 0.8426)),
    "STFAN": (M("5.37"), (28.59, 0.8608)),
    "TSP": (M("16.19"), (31.67, 0.9279)),
    "UHDVD": (None, (31.33, 0.9210)),
    "S2SVR (Ours)": (M("8.44"), (31.81, 0.9231)),
}

# Table 3, compressed video (HM 16.5, LDP, QP 37): (class, sequence) -> (delta-PSNR, delta-SSIM x1e-4) per method.
TABLE3_METHODS = ("AR-CNN", "DnCNN", "DS-CNN", "MFQE 1.0", "MFQE 2.0", "STDF-R3L", "S2SVR (Ours)")
_T3 = {
    ("A", "Traffic"): "0.239/47 0.238/57 0.286/60 0.497/90 0.585/102 0.730/115 0.851/138",
    ("A", "PeopleOnStreet"): "0.346/75 0.414/82 0.416/85 0.802/137 0.920/157 1.250/196 1.385/216",
    ("B", "Kimono"): "0.219/65 0.244/75 0.249/75 0.495/113 0.550/118 0.850/161 1.055/195",
    ("B", "ParkScene"): "0.136/38 0.141/50 0.153/50 0.391/103 0.457/123 0.590/147 0.649/165",
    ("B", "Cactus"): "0.190/38 0.195/48 0.239/58 0.439/88 0.501/100 0.770/138 0.828/152",
    ("B", "BQTerrace"): "0.195/28 0.201/38 0.257/48 0.270/48 0.403/67 0.630/106 0.654/115",
    ("B", "BasketballDrive"): "0.229/55 0.251/58 0.282/65 0.406/80 0.465/83 0.750/123 0.972/157",
    ("C", "RaceHorses"): "0.219/43 0.253/65 0.267/63 0.340/55 0.394/80 0.550/135 0.854/203",
    ("C", "BQMall"): "0.275/68 0.281/68 0.330/80 0.507/103 0.618/120 0.990/180 1.080/205",
    ("C", "PartyScene"): "0.107/38 0.131/48 0.174/58 0.217/73 0.363/118 0.680/194 0.628/236",
    ("C", "BasketballDrill"): "0.247/58 0.331/68 0.352/68 0.477/90 0.579/120 0.790/149 0.949/179",
    ("D", "RaceHorses"): "0.268/55 0.311/73 0.318/75 0.507/113 0.594/143 0.830/208 1.010/237",
    ("D", "BQSquare"): "0.080/8 0.129/18 0.201/38 -0.010/15 0.337/65 0.640/125 0.886/141",
    ("D", "BlowingBubbles"): "0.164/35 0.184/58 0.228/68 0.386/120 0.533/170 0.740/226 0.710/230",
    ("D", "BasketballPass"): "0.259/58 0.307/75 0.335/78 0.628/138 0.728/155 1.080/212 1.110/222",
    ("E", "FourPeople"): "0.373/50 0.388/60 0.459/70 0.664/85 0.734/95 0.940/117 1.021/136",
    ("E", "Johnny"): "0.247/10 0.315/40 0.378/40 0.548/55 0.604/68 0.810/88 0.976/120",
    ("E", "KristenAndSara"): "0.409/50 0.421/60 0.481/60 0.655/75 0.754/85 0.970/96 1.035/113",
}
_T3_AVERAGE = "0.233/45 0.263/58 0.300/63 0.455/88 0.562/109 0.830/151 0.925/176"


def _cells(row: str) -> tuple:
    return tuple(tuple(float(x) for x in cell.split("/")) for cell in row.split())


TABLE3 = {seq: _cells(row) for seq, row in _T3.items()}
TABLE3_AVERAGE = _cells(_T3_AVERAGE)  # the paper's "Average" row

# Table 4, flow estimator inside S2SVR-SR (REDS4, RGB PSNR): row -> (flow params M, PSNR).
TABLE4 = {
    "RAFT, Sup.": (M("4.81"), 31.88),
    "PWC-Lite, Sup.": (M("2.24"), 31.79),
    "PWC-Lite, Unsup.": (M("2.24"), 31.96),
}

# Table 5, one REDS4 video cut into segments of L frames: method -> PSNR per length.
TABLE5_LENGTHS = (5, 15, 30, 50)
TABLE5 = {
    "EDVR-M": (27.78, 28.47, 27.76, 27.52),
    "EDVR": (28.05, 28.80, 28.01, 27.77),
    "S2SVR": (28.10, 29.25, 28.53, 28.34),
}

# Parameter counts of the full models (flow net included), config -> millions: Tables 1 and 2.
PARAMETERS = {"sr_reds4": TABLE1["S2SVR (Ours)"][0], "deblur_gopro": TABLE2["S2SVR (Ours)"][0]}
FLOW_PARAMETERS = TABLE4["PWC-Lite, Unsup."][0]  # PWC-Lite, Table 4
# The public code's configurations (13 blocks, its layout), for comparison; not printed in the paper.
PUBLIC_CODE_PARAMETERS = {"sr_reds4": M("12.0"), "deblur_gopro": M("7.4")}


def params_text(millions) -> str:
    """'13.4 M' as the paper prints it, '-' where it prints nothing."""
    return "-" if millions is None else f"{millions} M"


def score_text(score) -> str:
    """'31.96 / 0.8988' (PSNR / SSIM, the paper's digits), '-' where the paper has no number."""
    return "-" if score is None else f"{score[0]:.2f} / {score[1]:.4f}"


def table_frame(table: dict, benchmarks: tuple):
    """DataFrame of Table 1 or 2 as the paper prints it: columns 'paper: params' and 'paper: <benchmark>'."""
    import pandas as pd
    rows = {m: [params_text(v[0]), *(score_text(s) for s in v[1:])] for m, v in table.items()}
    df = pd.DataFrame(rows, index=["params", *benchmarks]).T.add_prefix("paper: ")
    df.index.name = "method"
    return df


def psnr_gap(table: dict, ours: str, other: str, benchmark: int = 0) -> float:
    """PSNR of `ours` minus that of `other` on the `benchmark`-th benchmark of Table 1 or 2 (dB)."""
    return table[ours][1 + benchmark][0] - table[other][1 + benchmark][0]
