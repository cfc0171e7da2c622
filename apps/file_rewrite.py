"""Changing a user's audio file safely: a copy is edited, checked, and renamed over the original.

A music library is the user's only copy more often than not, so a tag write
must never leave a file half-written (a crash, a full disk, a bug in a tag
library), never change its audio, and never change who may read it:

- the file is copied to a temporary file in its own folder (same filesystem,
  so the final rename is atomic), the copy is edited, checked and fsync'ed,
  then ``os.replace`` puts it in place and the folder is fsync'ed. Until the
  rename the original is untouched; any failure removes the copy;
- the copy gets the original's permission bits, extended attributes and
  owner and group (a write that cannot keep the owner -- another user's
  file, not running as root -- is refused, not done with a new owner);
- mtime is the time of the write, as with any tagger: library managers
  (beets, MPD, Plex, Jellyfin) and backups (rsync's size-and-mtime check)
  find changed tags by the mtime, so keeping the old one would hide the new
  genre from them. recogenre's own nightly run recognises its writes from the
  ledger (``analysis/tag_ledger.py``), so they cost it a hash, not a decode;
- a read-only file (no write permission bit, or none for this user) is left
  alone, although a rename would only need the folder's permission;
- a symbolic link is followed: its target is rewritten and the link stays.
  A file with several hard links is refused: a rename would split them, the
  other names keeping the old bytes;
- if the original changed while its copy was being edited (another program
  wrote to it), the copy is dropped rather than overwriting that change.

:func:`audio_digest` fingerprints the audio itself (the demuxed packets),
so a caller can prove that the edit changed tags only.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import tempfile

TMP_SUFFIX = ".recogenre-tmp"


class RewriteRefused(Exception):
    """The file must not be rewritten (hard links, owner, changed meanwhile); it is untouched."""


def _identity(st: os.stat_result) -> tuple:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class StagedRewrite:
    """``with StagedRewrite(path) as s: edit(s.tmp); s.seal(); ...; s.commit()``.

    Leaving the block without ``commit`` removes the copy and leaves the original as it was.
    """

    def __init__(self, os_path: str):
        self.target = os.path.realpath(os_path)
        self.tmp: str | None = None
        self.original: os.stat_result | None = None
        self.committed = False

    def __enter__(self) -> StagedRewrite:
        st = os.stat(self.target)
        if not stat.S_ISREG(st.st_mode):
            raise RewriteRefused("not a regular file")
        if st.st_nlink > 1:
            raise RewriteRefused(f"it has {st.st_nlink} hard links, which replacing it would split")
        self.original = st
        folder, name = os.path.split(self.target)
        fd, self.tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=TMP_SUFFIX, dir=folder)
        os.close(fd)
        try:
            shutil.copyfile(self.target, self.tmp)
        except BaseException:
            self._drop()
            raise
        return self

    def seal(self) -> os.stat_result:
        """Gives the edited copy the original's owner, mode and xattrs, mtime now, and fsyncs it."""
        st = self.original
        if (st.st_uid, st.st_gid) != (os.stat(self.tmp).st_uid, os.stat(self.tmp).st_gid):
            try:
                os.chown(self.tmp, st.st_uid, st.st_gid)
            except PermissionError:
                raise RewriteRefused(
                    f"cannot keep its owner and group (uid {st.st_uid}, gid {st.st_gid}) as this user"
                ) from None
        shutil.copystat(self.target, self.tmp)  # mode bits, xattrs (times are set next)
        os.utime(self.tmp)  # the write's time: see the module docstring
        fd = os.open(self.tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return os.stat(self.tmp)

    def commit(self) -> None:
        """Renames the copy over the original, unless the original changed since it was copied."""
        if _identity(os.stat(self.target)) != _identity(self.original):
            raise RewriteRefused(
                "the file changed while it was being tagged; left as the other program wrote it"
            )
        os.replace(self.tmp, self.target)
        self.committed = True
        fd = os.open(os.path.dirname(self.target), os.O_RDONLY)
        try:
            os.fsync(fd)  # the rename itself survives a power cut
        finally:
            os.close(fd)

    def _drop(self) -> None:
        if self.tmp and not self.committed:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.tmp)

    def __exit__(self, *exc) -> None:
        self._drop()


def audio_digest(os_path: str) -> tuple[int, str]:
    """(packets, sha256 of every audio packet's bytes) as FFmpeg demuxes them.

    The packets are the compressed audio itself (MPEG frames, FLAC frames,
    Vorbis/Opus packets, AAC access units) without the container around them,
    so equal digests mean a tag edit left the audio byte-for-byte as it was.
    """
    from recogenre.analysis.decode import FFMPEG_OPTIONS, _pyav

    av = _pyav()
    digest, count = hashlib.sha256(), 0
    with open(os_path, "rb") as f, av.open(f, options=dict(FFMPEG_OPTIONS)) as container:
        stream = container.streams.audio[0]
        for packet in container.demux(stream):
            if packet.size:
                digest.update(bytes(packet))
                count += 1
    return count, digest.hexdigest()
