"""A pikoci resource type in Python: a counter kept in a file.

check reads the number in `source.file`, get writes a version's number to `DIR/count`, put adds
one to the file. Files are reached with plain `open()`: the sandbox lets through only the
directories the pipeline granted, and anything else fails with an OSError that is turned into
`capability-denied`, so the host can say which grant is missing.
"""
import errno
import json
import os

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports.resource_type import Fetched
from wit_world.imports.types import (
    MetadataField,
    PluginError_CapabilityDenied,
    PluginError_Failed,
    PluginError_InvalidConfig,
    Version,
)

# WASI reports a path outside every granted directory as ENOTCAPABLE (76), a write to a read-only
# grant as EACCES/EPERM/EROFS.
_DENIED = {getattr(errno, "ENOTCAPABLE", 76), errno.EACCES, errno.EPERM, errno.EROFS}


def _outside_grants(path):
    """componentize-py's libc reports a path under no granted directory as ENOENT, like a missing
    file. Granted directories are visible, so a path none of whose ancestors is visible was not
    granted."""
    parent = os.path.dirname(os.path.abspath(path))
    while parent not in ("/", ""):
        if os.path.isdir(parent):
            return False
        parent = os.path.dirname(parent)
    return True


def _file_op(action, path, body):
    try:
        return body()
    except OSError as e:
        if e.errno in _DENIED or (e.errno == errno.ENOENT and _outside_grants(path)):
            raise Err(PluginError_CapabilityDenied(f"{action} {path}"))
        raise Err(PluginError_Failed(f"cannot {action} {path}: {e.strerror}"))


def _read_count(path):
    def read():
        with open(path) as f:
            return f.read().strip()

    text = _file_op("read", path, read)
    if not text.isdigit():
        raise Err(PluginError_Failed(f"{path} does not hold a count: {text!r}"))
    return int(text)


def _write(path, text):
    def write():
        with open(path, "w") as f:
            f.write(text)

    _file_op("write", path, write)


def _source_file(source_json):
    try:
        source = json.loads(source_json)
        return str(source["file"])
    except (ValueError, KeyError, TypeError):
        raise Err(PluginError_InvalidConfig("source.file: expected the path of the counter file"))


class ResourceType(exports.ResourceType):
    def check(self, source, last):
        count = _read_count(_source_file(source))
        return [Version(fields=[("count", str(count))])]

    def get(self, source, version, params, dir):
        count = dict(version.fields).get("count", "0")
        _write(f"{dir}/count", count)
        return Fetched(version=version, metadata=[MetadataField(name="language", value="python")])

    def put(self, source, params, dir):
        path = _source_file(source)
        count = _read_count(path) + 1
        _write(path, str(count))
        return Fetched(version=Version(fields=[("count", str(count))]), metadata=[])
