/** Path rules of Apache ZooKeeper's PathUtils.validatePath; returns the reason a path is invalid, or null. */
export function invalidPathReason(path: string): string | null {
  if (path.length === 0) return 'Path length must be > 0';
  if (path.charCodeAt(0) !== 0x2f) return 'Path must start with / character';
  if (path.length === 1) return null;
  if (path.charCodeAt(path.length - 1) === 0x2f) return 'Path must not end with / character';
  let last = 0x2f;
  for (let i = 1; i < path.length; last = path.charCodeAt(i), i++) {
    const c = path.charCodeAt(i);
    const next = i + 1 === path.length ? 0x2f : path.charCodeAt(i + 1);
    if (c === 0) return `null character not allowed @${i}`;
    if (c === 0x2f && last === 0x2f) return `empty node name specified @${i}`;
    if (c === 0x2e && last === 0x2e) {
      if (path.charCodeAt(i - 2) === 0x2f && next === 0x2f) return `relative paths not allowed @${i}`;
    } else if (c === 0x2e) {
      if (last === 0x2f && next === 0x2f) return `relative paths not allowed @${i}`;
    } else if (
      (c > 0 && c <= 0x1f) ||
      (c >= 0x7f && c <= 0x9f) ||
      (c >= 0xd800 && c <= 0xf8ff) ||
      (c >= 0xfff0 && c <= 0xffff)
    ) {
      return `invalid character @${i}`;
    }
  }
  return null;
}

/** The parent of an absolute path ("/" for a top-level node); undefined for "/" itself. */
export function parentOf(path: string): string | undefined {
  if (path === '/') return undefined;
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.substring(0, slash);
}

export function childNameOf(path: string): string {
  return path.substring(path.lastIndexOf('/') + 1);
}

export function joinPath(parent: string, child: string): string {
  return parent === '/' ? '/' + child : parent + '/' + child;
}
