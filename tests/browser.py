"""Headless Chromium as the tests start it (Debian's package; its own download does not work
here)."""

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Decodes a PNG in the page (a canvas) and counts its distinct colours: a screenshot of a
# page that rendered nothing has one or two.
_COUNT_COLOURS = """async (dataUrl) => {
    const image = new Image();
    image.src = dataUrl;
    await image.decode();
    const canvas = document.createElement("canvas");
    canvas.width = image.width;
    canvas.height = image.height;
    const context = canvas.getContext("2d");
    context.drawImage(image, 0, 0);
    const pixels = context.getImageData(0, 0, image.width, image.height).data;
    const colours = new Set();
    for (let i = 0; i < pixels.length; i += 4) {
        colours.add((pixels[i] << 16) | (pixels[i + 1] << 8) | pixels[i + 2]);
    }
    return colours.size;
}"""


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    assert data.startswith(PNG_SIGNATURE) and data[12:16] == b"IHDR", "not a PNG"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def distinct_colours(browser, data: bytes) -> int:
    """How many colours a PNG has, decoded by Chromium (no imaging library needed)."""
    import base64

    page = browser.new_page()
    try:
        return page.evaluate(
            _COUNT_COLOURS, "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        )
    finally:
        page.close()
