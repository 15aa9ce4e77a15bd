"""Face images on disk for tests."""

from PIL import Image


def save_faces(folder, face_factory, count, size=32, fmt="png"):
    """Writes ``count`` synthetic faces into ``folder`` and returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.fromarray(face_factory(size)).save(folder / f"img_{i:02d}.{fmt}")
    return folder
