"""The HTML page's frame: style, script, escaping, embedded images and thumbnails.
"""


import base64
import html
import io
import math

from PIL import Image

THUMB_FACES = 4      # a thumbnail shows the first 4x4 faces of a grid...
THUMB_MAX = 256      # ...at most this many pixels wide
THUMB_MIN = 120      # small faces are shown enlarged (pixelated) to at least this width
GUTTER = 2           # files.grid_image's spacing between faces


def escape(text):
    return html.escape(str(text), quote=True)


def img_tag(png_bytes, alt, cls="", width=None):
    src = "data:image/png;base64," + base64.b64encode(png_bytes).decode("ascii")
    size = f' width="{width}"' if width else ""
    return f'<img class="{cls}" src="{src}" alt="{escape(alt)}"{size}>'


def thumbnail(path, face_size=None):
    """The first 4x4 faces of a sample grid as PNG bytes, and the width to show them at.

    The grid's geometry (faces of `face_size` px, 2-px gutters) gives the crop;
    a grid of another shape is scaled whole instead.
    """
    with Image.open(path) as image:
        image.load()
    pitch = (face_size or 0) + GUTTER
    if face_size and (image.width + GUTTER) % pitch == 0 and (image.height + GUTTER) % pitch == 0:
        across = min(THUMB_FACES, (image.width + GUTTER) // pitch)
        down = min(THUMB_FACES, (image.height + GUTTER) // pitch)
        image = image.crop((0, 0, across * pitch - GUTTER, down * pitch - GUTTER))
    if image.width > THUMB_MAX:
        image = image.resize((THUMB_MAX, round(image.height * THUMB_MAX / image.width)),
                             Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue(), image.width * max(1, math.ceil(THUMB_MIN / image.width))


STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222;
       max-width: 1180px; margin: 0 auto; padding: 16px 24px 48px; line-height: 1.45; }
h1 { margin-bottom: 0; }
h2 { border-bottom: 2px solid #ddd; padding-bottom: 2px; margin-top: 32px; }
.lead { color: #555; margin-top: 4px; }
.winner { background: #eef7ee; border-left: 4px solid #2e7d32; padding: 6px 10px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; margin: 8px 0; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e3e3e3; text-align: right;
         white-space: nowrap; }
th { background: #f4f4f4; } .left { text-align: left; } .wide { overflow-x: auto; }
tr.best { background: #eef7ee; font-weight: 600; } tr.failed td { color: #999; }
.plots { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 12px; }
.plots img, img.curve { max-width: 100%; height: auto; }
section.trial { border-top: 1px solid #ddd; margin-top: 18px; }
h3 .status { font-size: 13px; font-weight: normal; padding: 1px 6px; border-radius: 3px;
             background: #e8e8e8; } h3 .failed, h3 .invalid { background: #f8d7d3; }
h3 .running, h3 .interrupted { background: #fff1c2; }
h3 .diverged { background: #f3e0f7; }
.facts { margin: 2px 0; color: #444; } .reason { color: #c0392b; }
.grids { display: flex; gap: 10px; overflow-x: auto; padding-bottom: 6px; align-items: flex-start; }
figure { margin: 0; } figure.whole { width: fit-content; }
figcaption { font-size: 12px; color: #555; text-align: center; }
img.grid { image-rendering: pixelated; border: 2px solid transparent; display: block; }
figure.best img.grid { border-color: #2e7d32; } figure.whole { margin-top: 8px; }
.note { color: #666; font-size: 14px; }
.claim { border-left: 4px solid #ddd; padding-left: 12px; margin-bottom: 18px; }
.verdict { font-size: 13px; padding: 1px 8px; border-radius: 8px; color: #fff; }
.verdict.supported { background: #2e7d32; } .verdict.contradicted { background: #c62828; }
.verdict.not-settled { background: #ef6c00; } .verdict.not-measured { background: #757575; }
.verdict.tied { background: #558b2f; } .verdict.out-of-reach { background: #6d4c41; }
.prov { display: grid; grid-template-columns: repeat(auto-fit, minmax(330px, 1fr)); gap: 0 24px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 1px 12px; margin: 0;
     font-size: 14px; }
dt { color: #666; } dd { margin: 0; overflow-wrap: anywhere; }
code, pre { background: #f6f6f6; font-size: 13px; } pre { padding: 8px; overflow-x: auto; }
"""

SCRIPT = """
window.addEventListener("load", function () {
  var images = document.images, broken = 0;
  for (var i = 0; i < images.length; i++) {
    if (!images[i].complete || images[i].naturalWidth === 0) broken++;
  }
  document.body.dataset.images = images.length;
  document.body.dataset.brokenImages = broken;
});
"""


def page(title, body):
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{STYLE}</style>
<script>{SCRIPT}</script>
</head>
<body>
{body}
</body>
</html>
"""
