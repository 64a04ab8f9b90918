"""Writing rendered frames as a video: GIF through Pillow, MP4 through imageio's ffmpeg."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from bidir_core.vector_env import RENDER_FPS

__all__ = ["VIDEO_SUFFIXES", "check_video_path", "save_video"]

#: The file types ``save_video`` writes.
VIDEO_SUFFIXES: tuple[str, ...] = (".gif", ".mp4")

_MP4_MISSING = (
    "writing an MP4 video needs imageio and imageio-ffmpeg: pip install 'bidir_core[video]' "
    "(or write a .gif, which needs nothing more)"
)


def check_video_path(path: str | os.PathLike[str]) -> Path:
    """Return ``path`` as a Path after checking that ``save_video`` can write it (a .gif or
    .mp4 in an existing folder; MP4 only with imageio-ffmpeg installed)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise ValueError(f"a video must end in {' or '.join(VIDEO_SUFFIXES)}, got {str(path)!r}")
    if not path.parent.is_dir():
        raise ValueError(f"the folder of the video {str(path)!r} does not exist")
    if suffix == ".mp4":
        try:
            import imageio.v2  # noqa: F401
            import imageio_ffmpeg  # noqa: F401
        except ImportError as err:
            raise ModuleNotFoundError(_MP4_MISSING) from err
    return path


def _gif_frame(frame: np.ndarray) -> Any:
    """``frame`` as a Pillow palette image: exact when it holds at most 256 colours (a
    rendered grid holds tens), Pillow's median-cut quantisation otherwise."""
    from PIL import Image

    image = Image.fromarray(frame)
    colours = image.getcolors(256)
    if colours is None:
        return image.quantize(256)
    table = np.sort(np.array([(r << 16) | (g << 8) | b for _, (r, g, b) in colours], np.uint32))
    codes = (frame[..., 0].astype(np.uint32) << 16) | (frame[..., 1].astype(np.uint32) << 8)
    codes |= frame[..., 2]
    index = np.searchsorted(table, codes).astype(np.uint8)
    paletted = Image.frombytes("P", (frame.shape[1], frame.shape[0]), index.tobytes())
    palette = np.stack([table >> 16, (table >> 8) & 255, table & 255], axis=1)
    paletted.putpalette(palette.astype(np.uint8).tobytes())
    return paletted


def save_video(
    frames: Sequence[np.ndarray] | np.ndarray, path: str | os.PathLike[str], fps: int = RENDER_FPS
) -> Path:
    """Write RGB frames (uint8 (H, W, 3) each, all the same size) to ``path``, a .gif (looping,
    written with Pillow) or an .mp4 (H.264, written with imageio-ffmpeg); return the path."""
    path = check_video_path(path)
    if len(frames) == 0:
        raise ValueError("no frames to write")
    first = np.asarray(frames[0])
    for k, frame in enumerate(frames):
        frame = np.asarray(frame)
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"frames[{k}] must be uint8 (H, W, 3), got {frame.dtype} {frame.shape}")
        if frame.shape != first.shape:
            raise ValueError(f"frames[{k}] has shape {frame.shape}, frames[0] {first.shape}")
    if isinstance(fps, bool) or not isinstance(fps, int) or fps < 1:
        raise ValueError(f"fps must be an int >= 1, got {fps!r}")
    if path.suffix.lower() == ".gif":
        images = [_gif_frame(np.asarray(f)) for f in frames]
        images[0].save(path, save_all=True, append_images=images[1:],
                       duration=round(1000 / fps), loop=0)
    else:
        import imageio.v2 as imageio

        imageio.mimwrite(path, [np.asarray(f) for f in frames], format="FFMPEG", fps=fps,
                         codec="libx264")
    return path
