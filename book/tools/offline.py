"""Fetch the JavaScript the built pages need, so that they load nothing from a CDN.

`python -m book.tools.offline [DEST]` (default `_build/offline_static`) runs `npm pack` for pinned versions of
MathJax 3, RequireJS and `@jupyter-widgets/html-manager` (the widget manager matching ipywidgets 8), and
unpacks the few files the pages load into DEST:

    DEST/mathjax/        tex-chtml.js and what it loads on demand (fonts, TeX extensions, menu, a11y)
    DEST/requirejs/      require.js
    DEST/html-manager/   embed-amd.js and the fonts it references

`python -m book.tools.offline --place-fonts [HTML]` (after the build) also serves the widget fonts beside the
pages (see `place_widget_fonts`).

`_config.yml` lists DEST in `html_static_path`, so Sphinx copies it into `_build/html/_static/`, and points
`mathjax_path` and `nb_ipywidgets_js` at those copies. A stamp file records the versions: the download
happens once, and again only when a version below changes.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGES = {  # npm name -> pinned version
    "mathjax": "3.2.2",
    "requirejs": "2.3.8",
    "@jupyter-widgets/html-manager": "1.0.15",  # ipywidgets 8.1 / widget protocol 2
}
STAMP = ".offline-assets.json"
MATHJAX_KEEP = ("tex-chtml.js", "output/chtml", "input/tex", "ui", "a11y", "sre", "adaptors")


def _unpack(tgz: Path, into: Path) -> Path:
    with tarfile.open(tgz) as tar:
        tar.extractall(into, filter="data")
    return into / "package"


def fetch(dest: Path, npm: str = "npm", quiet: bool = False) -> Path:
    """Populate `dest` unless its stamp already records the pinned versions. Returns `dest`."""
    dest = Path(dest)
    stamp = dest / STAMP
    if stamp.is_file() and json.loads(stamp.read_text()) == PACKAGES:
        return dest
    if shutil.which(npm) is None:
        raise RuntimeError("npm not found: it is needed once to fetch MathJax, RequireJS and the widget manager "
                           "for offline pages (apt-get install npm, or install Node.js)")
    if dest.exists():
        shutil.rmtree(dest)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        specs = [f"{name}@{version}" for name, version in PACKAGES.items()]
        out = subprocess.run([npm, "pack", "--silent", *specs], cwd=tmp, check=True, capture_output=True, text=True)
        tarballs = [tmp / line.strip() for line in out.stdout.splitlines() if line.strip().endswith(".tgz")]
        if len(tarballs) != len(specs):
            raise RuntimeError(f"npm pack returned {out.stdout!r} for {specs}")
        by_name = {}
        for tgz, name in zip(tarballs, PACKAGES):
            by_name[name] = _unpack(tgz, tmp / tgz.stem)

        mj = by_name["mathjax"] / "es5"
        for item in MATHJAX_KEEP:
            src, dst = mj / item, dest / "mathjax" / item
            dst.parent.mkdir(parents=True, exist_ok=True)
            (shutil.copytree if src.is_dir() else shutil.copyfile)(src, dst)

        (dest / "requirejs").mkdir(parents=True)
        shutil.copyfile(by_name["requirejs"] / "require.js", dest / "requirejs" / "require.js")

        dist = by_name["@jupyter-widgets/html-manager"] / "dist"
        (dest / "html-manager").mkdir(parents=True)
        for f in dist.iterdir():  # embed-amd.js plus the fonts/images it references by hashed name
            if f.name == "embed-amd.js" or f.suffix in {".woff", ".woff2", ".ttf", ".eot", ".svg", ".png"}:
                shutil.copyfile(f, dest / "html-manager" / f.name)
    stamp.write_text(json.dumps(PACKAGES, indent=1))
    if not quiet:
        print(f"offline JS assets ({', '.join(f'{k}@{v}' for k, v in PACKAGES.items())}) in {dest}")
    return dest


FONT_SUFFIXES = (".woff2", ".woff", ".ttf", ".eot", ".svg")


def place_widget_fonts(html: Path) -> int:
    """Copy the widget manager's fonts to `<page folder>/@jupyter-widgets/` for every folder that holds a page.

    A guard beside the mechanism (`book/static/widgets-offline.js` maps the bundle's named modules to
    `_static/html-manager/`): pages that still resolve a font against their own folder find it there too.
    Returns the number of files copied.
    """
    src = html / "_static" / "html-manager"
    fonts = [f for f in sorted(src.glob("*")) if f.suffix in FONT_SUFFIXES]
    folders = {p.parent for p in html.rglob("*.html") if "_static" not in p.parts}
    n = 0
    for folder in sorted(folders):
        out = folder / "@jupyter-widgets"
        out.mkdir(exist_ok=True)
        for f in fonts:
            shutil.copyfile(f, out / f.name)
            n += 1
    return n


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--place-fonts"]:
        html = Path(argv[1]) if len(argv) > 1 else Path("_build") / "html"
        print(f"offline assets: {place_widget_fonts(html)} widget font files placed beside the pages")
        return 0
    dest = Path(argv[0]) if argv else Path("_build") / "offline_static"
    try:
        fetch(dest)
    except (RuntimeError, subprocess.CalledProcessError) as e:
        print(f"offline assets: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
