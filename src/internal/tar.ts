/**
 * A minimal ustar writer and reader: the Docker archive API (file tamper and its restore) and
 * image imports speak tar, and a few hundred bytes of code beat a dependency here. Shared by the
 * Docker adapter and the Docker lab (`src/testing/docker/`), so neither reaches into the other.
 */

export interface TarEntry {
  readonly path: string
  readonly type: "file" | "dir" | "symlink"
  /** Permission bits; default 0o644 for files, 0o755 for directories, 0o777 for links. */
  readonly mode?: number
  readonly content?: Buffer
  readonly linkTo?: string
  readonly uid?: number
  readonly gid?: number
  /** Seconds since the epoch; default 0 (so equal inputs give equal archives). */
  readonly mtime?: number
}

const block = 512

const octal = (n: number, width: number) => `${n.toString(8).padStart(width - 1, "0")}\0`

const header = (e: TarEntry, size: number): Buffer => {
  const h = Buffer.alloc(block)
  let name = e.path.replace(/^\/+/, "")
  let prefix = ""
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf("/", 154)
    if (cut <= 0 || Buffer.byteLength(name.slice(cut + 1)) > 100) throw new Error(`tar: path too long: ${e.path}`)
    prefix = name.slice(0, cut)
    name = name.slice(cut + 1)
  }
  h.write(name, 0, 100, "utf8")
  h.write(octal(e.mode ?? (e.type === "dir" ? 0o755 : e.type === "symlink" ? 0o777 : 0o644), 8), 100, "ascii")
  h.write(octal(e.uid ?? 0, 8), 108, "ascii")
  h.write(octal(e.gid ?? 0, 8), 116, "ascii")
  h.write(octal(size, 12), 124, "ascii")
  h.write(octal(e.mtime ?? 0, 12), 136, "ascii")
  h.write("        ", 148, "ascii")
  h.write(e.type === "dir" ? "5" : e.type === "symlink" ? "2" : "0", 156, "ascii")
  if (e.linkTo !== undefined) h.write(e.linkTo, 157, 100, "utf8")
  h.write("ustar\0", 257, "ascii")
  h.write("00", 263, "ascii")
  h.write(prefix, 345, 155, "utf8")
  let sum = 0
  for (const byte of h) sum += byte
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii")
  return h
}

/** Packs entries into an uncompressed tar archive. */
export const pack = (entries: ReadonlyArray<TarEntry>): Buffer => {
  const parts: Array<Buffer> = []
  for (const e of entries) {
    const content = e.type === "file" ? (e.content ?? Buffer.alloc(0)) : Buffer.alloc(0)
    parts.push(header(e, content.length), content)
    const pad = (block - (content.length % block)) % block
    if (pad > 0) parts.push(Buffer.alloc(pad))
  }
  parts.push(Buffer.alloc(block * 2))
  return Buffer.concat(parts)
}

const text = (b: Buffer, from: number, len: number) => {
  const s = b.subarray(from, from + len)
  const nul = s.indexOf(0)
  return s.subarray(0, nul === -1 ? s.length : nul).toString("utf8")
}

const number = (b: Buffer, from: number, len: number) => {
  const s = text(b, from, len).trim()
  return s === "" ? 0 : Number.parseInt(s, 8)
}

/** Reads the entries of an uncompressed tar archive (ustar, with GNU/PAX long names). */
export const unpack = (archive: Buffer): ReadonlyArray<Required<Pick<TarEntry, "path" | "type" | "mode" | "uid" | "gid">> & { readonly content: Buffer; readonly linkTo?: string }> => {
  const out: Array<Required<Pick<TarEntry, "path" | "type" | "mode" | "uid" | "gid">> & { content: Buffer; linkTo?: string }> = []
  let offset = 0
  let longName: string | undefined
  while (offset + block <= archive.length) {
    const h = archive.subarray(offset, offset + block)
    if (h.every((x) => x === 0)) break
    const size = number(h, 124, 12)
    const flag = String.fromCharCode(h[156] ?? 48)
    const body = archive.subarray(offset + block, offset + block + size)
    offset += block + Math.ceil(size / block) * block
    if (flag === "L") {
      longName = text(body, 0, body.length)
      continue
    }
    if (flag === "x") {
      const path = /\d+ path=([^\n]*)\n/.exec(body.toString("utf8"))?.[1]
      if (path !== undefined) longName = path
      continue
    }
    if (flag === "g") continue
    const prefix = text(h, 345, 155)
    const path = longName ?? (prefix === "" ? text(h, 0, 100) : `${prefix}/${text(h, 0, 100)}`)
    longName = undefined
    const type = flag === "5" ? "dir" : flag === "2" ? "symlink" : "file"
    const linkTo = text(h, 157, 100)
    out.push({ path, type, mode: number(h, 100, 8), uid: number(h, 108, 8), gid: number(h, 116, 8), content: Buffer.from(body), ...(type === "symlink" ? { linkTo } : {}) })
  }
  return out
}
