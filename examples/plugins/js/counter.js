// A pikoci resource type in JavaScript: a counter kept in a file.
//
// check reads the number in `source.file`, get writes a version's number to `DIR/count`, put adds
// one to the file. There is no `fs` module inside a component: files are reached through
// wasi:filesystem, whose preopened directories are exactly what the pipeline granted (each at its
// own absolute path). A path under none of them was not granted, and says so.
import { getDirectories } from 'wasi:filesystem/preopens@0.2.10';

const fail = (message) => ({ tag: 'failed', val: message });
const denied = (what) => ({ tag: 'capability-denied', val: what });

// The granted directory holding `path`, and the path relative to it.
function locate(action, path) {
  let best;
  for (const [descriptor, root] of getDirectories()) {
    const prefix = root.endsWith('/') ? root : `${root}/`;
    if (path.startsWith(prefix) && (!best || root.length > best.root.length)) {
      best = { descriptor, root, relative: path.slice(prefix.length) };
    }
  }
  if (!best) throw denied(`${action} ${path}`);
  return best;
}

// wasi:filesystem errors arrive as an error-code name; the sandbox refuses with these.
const REFUSALS = new Set(['access', 'not-permitted', 'read-only']);

function fileOp(action, path, body) {
  const { descriptor, relative } = locate(action, path);
  try {
    return body(descriptor, relative);
  } catch (e) {
    const code = e?.payload ?? e;
    if (REFUSALS.has(code)) throw denied(`${action} ${path}`);
    throw fail(`cannot ${action} ${path}: ${code}`);
  }
}

function readText(path) {
  return fileOp('read', path, (dir, relative) => {
    const file = dir.openAt({ symlinkFollow: true }, relative, {}, { read: true });
    const [bytes] = file.read(file.stat().size, 0n);
    return new TextDecoder().decode(bytes);
  });
}

function writeText(path, text) {
  fileOp('write', path, (dir, relative) => {
    const file = dir.openAt({ symlinkFollow: true }, relative, { create: true, truncate: true }, { write: true });
    file.write(new TextEncoder().encode(text), 0n);
  });
}

function sourceFile(sourceJson) {
  const file = JSON.parse(sourceJson).file;
  if (typeof file !== 'string') throw { tag: 'invalid-config', val: 'source.file: expected the path of the counter file' };
  return file;
}

function readCount(path) {
  const text = readText(path).trim();
  if (!/^\d+$/.test(text)) throw fail(`${path} does not hold a count: ${JSON.stringify(text)}`);
  return Number(text);
}

const version = (count) => ({ fields: [['count', String(count)]] });

export const resourceType = {
  check(source, _last) {
    return [version(readCount(sourceFile(source)))];
  },
  get(_source, wanted, _params, dir) {
    const count = wanted.fields.find(([name]) => name === 'count')?.[1] ?? '0';
    writeText(`${dir}/count`, count);
    return { version: wanted, metadata: [{ name: 'language', value: 'javascript' }] };
  },
  put(source, _params, _dir) {
    const path = sourceFile(source);
    const count = readCount(path) + 1;
    writeText(path, String(count));
    return { version: version(count), metadata: [] };
  },
};
