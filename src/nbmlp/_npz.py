"""A bounded, lazy reader of ``.npz`` archives from untrusted sources (used by ``nbmlp.load``).

``NpzReader`` opens the zip directory only; each member is read on request, after its ``.npy``
header was checked against the dtype and shape the caller expects and the member's size in
the zip directory was found to be exactly what that header implies. Only uncompressed
(stored) members are accepted, as ``np.savez`` writes them, so no member can be larger than
the file, and the sizes of all the members together must fit in the file. Every problem is a
``ValueError`` that names the member.
"""

import os
import zipfile
import zlib

import numpy as np

NPY_VERSIONS = ((1, 0), (2, 0))
MAX_HEADER = 10000  # bytes of a .npy header (numpy's own limit for untrusted files)
# what opening the zip file or one of its members can raise on a damaged or crafted file
_READ_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError, UnicodeDecodeError)


class _Counting:
    """A file wrapper that counts the bytes read (the size of a .npy header)."""

    def __init__(self, fh):
        self.fh, self.n = fh, 0

    def read(self, k=-1):
        data = self.fh.read(k)
        self.n += len(data)
        return data


class NpzReader:
    """The members of an ``.npz`` file, read one by one with their size checked first."""

    def __init__(self, path):
        self.path = path
        try:
            self.size = _file_size(path)
            self.zip = zipfile.ZipFile(path)
        except (*_READ_ERRORS, TypeError) as e:
            raise ValueError(f"path: {path!r} is not a readable nbmlp model file ({type(e).__name__}: {e})") from None
        try:
            self.infos = self._directory()
        except BaseException:
            self.zip.close()
            raise

    def _directory(self):
        infos, total = {}, 0
        for info in self.zip.infolist():
            name = info.filename
            if not name.endswith(".npy"):
                raise ValueError(f"member {name!r}: not a .npy array (an .npz file holds only .npy members)")
            key = name[:-4]
            if key in infos:
                raise ValueError(f"member {key!r}: appears twice in the file")
            if info.compress_type != zipfile.ZIP_STORED:
                raise ValueError(
                    f"member {key!r}: compressed; nbmlp model files store their arrays "
                    "uncompressed (as np.savez writes them)"
                )
            if info.flag_bits & 0x1:
                raise ValueError(f"member {key!r}: encrypted")
            if info.file_size != info.compress_size or info.file_size > self.size:
                raise ValueError(f"member {key!r}: declares {info.file_size} bytes, more than the file holds")
            total += info.file_size
            infos[key] = info
        if total > self.size:
            raise ValueError(f"path: {self.path!r}: its members declare {total} bytes in a file of {self.size} bytes")
        return infos

    def close(self):
        self.zip.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __contains__(self, key):
        return key in self.infos

    def names(self):
        return list(self.infos)

    def header(self, key):
        """``(dtype, shape)`` from the member's .npy header (reads the header only)."""
        with self._open(key) as fh:
            return self._header(key, _Counting(fh))[:2]

    def read(self, key, kinds, shape=None, max_itemsize=None):
        """The member ``key`` as an array, after checking its header.

        ``kinds``: the allowed ``dtype.kind`` letters (an exact dtype may be given instead);
        ``shape``: the required shape, or an int (number of dimensions, any lengths).
        ``max_itemsize``: an upper bound on the item size (strings).
        """
        if key not in self.infos:
            raise ValueError(f"member {key!r}: missing")
        with self._open(key) as raw:
            fh = _Counting(raw)
            dtype, got_shape, fortran = self._header(key, fh)
            if isinstance(kinds, np.dtype):
                if dtype != kinds:
                    raise ValueError(f"member {key!r}: dtype {dtype}, expected {kinds}")
            elif dtype.kind not in kinds or dtype.hasobject or dtype.fields is not None or dtype.subdtype:
                raise ValueError(f"member {key!r}: dtype {dtype} is not allowed here")
            if max_itemsize is not None and dtype.itemsize > max_itemsize:
                raise ValueError(f"member {key!r}: items of {dtype.itemsize} bytes, at most {max_itemsize} allowed")
            if isinstance(shape, int):
                if len(got_shape) != shape:
                    raise ValueError(f"member {key!r}: shape {got_shape}, expected {shape} dimension(s)")
            elif shape is not None and tuple(got_shape) != tuple(shape):
                raise ValueError(f"member {key!r}: shape {got_shape}, expected {tuple(shape)}")
            count = 1
            for n in got_shape:
                count *= n
            nbytes = count * dtype.itemsize
            if fh.n + nbytes != self.infos[key].file_size:
                raise ValueError(
                    f"member {key!r}: holds {self.infos[key].file_size - fh.n} data bytes, but its "
                    f"header declares shape {got_shape} of {dtype} ({nbytes} bytes)"
                )
            data = _read_exactly(fh, nbytes, key)
            try:
                fh.read(1)  # at the end of the member: the zip module checks its CRC-32
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as e:
                raise ValueError(f"member {key!r}: damaged ({e})") from None
        try:
            array = np.frombuffer(data, dtype=dtype, count=count).reshape(got_shape, order="F" if fortran else "C")
        except ValueError as e:
            raise ValueError(f"member {key!r}: cannot be read as {dtype} of shape {got_shape} ({e})") from None
        return np.array(array, order="C")  # a writable copy

    def _open(self, key):
        if key not in self.infos:
            raise ValueError(f"member {key!r}: missing")
        try:
            return self.zip.open(self.infos[key])
        except _READ_ERRORS as e:
            raise ValueError(f"member {key!r}: cannot be read ({type(e).__name__}: {e})") from None

    def _header(self, key, fh):
        fmt = np.lib.format
        try:
            version = fmt.read_magic(fh)
            if version not in NPY_VERSIONS:
                raise ValueError(f"unsupported .npy format version {version}")
            read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            try:
                shape, fortran, dtype = read(fh, max_header_size=MAX_HEADER)
            except TypeError:  # pragma: no cover - numpy without max_header_size
                shape, fortran, dtype = read(fh)
        except (zipfile.BadZipFile, zlib.error) as e:
            raise ValueError(f"member {key!r}: damaged ({e})") from None
        except Exception as e:  # noqa: BLE001 - numpy's header parser raises many kinds on crafted input
            raise ValueError(f"member {key!r}: not a valid .npy array header ({type(e).__name__}: {e})") from None
        if not all(isinstance(n, int) and n >= 0 for n in shape):
            raise ValueError(f"member {key!r}: invalid shape {shape!r}")
        return np.dtype(dtype), tuple(shape), bool(fortran)


def _read_exactly(fh, n, key):
    try:
        data = fh.read(n)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as e:
        raise ValueError(f"member {key!r}: damaged ({e})") from None
    if len(data) != n:
        raise ValueError(f"member {key!r}: truncated ({len(data)} of {n} bytes)")
    return data


def _file_size(path):
    if hasattr(path, "read"):
        pos = path.tell()
        path.seek(0, os.SEEK_END)
        size = path.tell()
        path.seek(pos)
        return size
    return os.path.getsize(path)
